"""Browser sessions: the cookie holds a random id; the database holds its SHA-256.

A stolen database therefore yields no usable cookie, and ending a session (logout, password
change, user removed) takes effect on the next request. Each session carries its own CSRF
token (synchronizer pattern): forms send it back in a hidden field, scripts in a header.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from costtracker.auth.principal import Principal, Role
from costtracker.clock import as_utc
from costtracker.store.models import User, UserSession


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User, *, now: datetime, max_age: timedelta) -> str:
    """Open a session for ``user``; returns the cookie value (never stored in clear)."""
    raw = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(raw),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + max_age,
        )
    )
    session.execute(delete(UserSession).where(UserSession.expires_at < now))
    return raw


def session_principal(session: Session, raw: str, *, now: datetime) -> Principal | None:
    """The user behind a cookie, or None when the session is unknown, expired or disabled."""
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _digest(raw))
    ).first()
    if row is None:
        return None
    user_session, user = row
    if as_utc(user_session.expires_at) <= now or user.disabled:
        return None
    return Principal(
        kind="user",
        name=user.email,
        role=Role(user.role),
        user_id=user.id,
        csrf_token=user_session.csrf_token,
    )


def end_session(session: Session, raw: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == _digest(raw)))
