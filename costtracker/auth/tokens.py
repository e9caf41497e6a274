"""API tokens for machines (cron, CI, scripts), and the seed's two static tokens.

A token is ``ct_`` + 43 random URL-safe characters, shown once at creation. Only its SHA-256
is stored (a slow hash is pointless for 256 random bits, and a plain hash can be looked up),
with its first characters in clear so a list can tell tokens apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from costtracker.auth import audit
from costtracker.auth.principal import Principal, Scope
from costtracker.clock import as_utc
from costtracker.errors import Conflict, InvalidInput, NotFound
from costtracker.settings import Settings
from costtracker.store.models import ApiToken

PREFIX = "ct_"
SHOWN_CHARACTERS = 10
LAST_USED_PRECISION = timedelta(minutes=5)  # at most one write per token per 5 minutes


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def parse_scope(scope: str) -> Scope:
    try:
        return Scope(scope.strip().lower())
    except ValueError:
        raise InvalidInput("scope", f"must be one of {', '.join(Scope)} (got {scope!r})") from None


def create_token(session: Session, name: str, scope: Scope, *, actor: str) -> tuple[ApiToken, str]:
    """A new token and its value, which is never stored and cannot be shown again."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name", "must be 1 to 200 characters")
    if _active_named(session, name):
        raise Conflict(f"an active token is already named {name!r}; revoke it or choose another name")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, scope=scope.value, token_hash=digest(raw), prefix=raw[:SHOWN_CHARACTERS])
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", name, details={"id": token.id, "scope": scope.value})
    return token, raw


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, id_or_name: str, *, actor: str, now: datetime) -> ApiToken:
    """Revoke by id or by name; refused at once on the next request."""
    token = _find_for_revocation(session, id_or_name)
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(session, actor, "token.revoke", token.name, details={"id": token.id})
    return token


def token_principal(session: Session, raw: str, settings: Settings, now: datetime) -> Principal | None:
    """The principal a presented token stands for, or None when it is unknown or revoked."""
    static = _static_principal(raw, settings)
    if static is not None:
        return static
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if token is None or token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - as_utc(token.last_used_at) > LAST_USED_PRECISION:
        token.last_used_at = now
        session.commit()
    return Principal(kind="token", name=token.name, scope=Scope(token.scope), token_id=token.id)


def _static_principal(raw: str, settings: Settings) -> Principal | None:
    """The seed's COLLECT_SECRET_TOKEN (scope collect) and REPORT_SECRET_TOKEN (scope read)."""
    candidates = (
        ("COLLECT_SECRET_TOKEN", settings.collect_secret_token, Scope.COLLECT),
        ("REPORT_SECRET_TOKEN", settings.report_secret_token, Scope.READ),
    )
    for name, secret, scope in candidates:
        if secret is None or not secret.get_secret_value():
            continue
        if hmac.compare_digest(raw.encode("utf-8"), secret.get_secret_value().encode("utf-8")):
            return Principal(kind="token", name=name, scope=scope)
    return None


def _active_named(session: Session, name: str) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def _find_for_revocation(session: Session, id_or_name: str) -> ApiToken:
    if id_or_name.isdigit():
        token = session.get(ApiToken, int(id_or_name))
        if token is not None:
            return token
    named = _active_named(session, id_or_name) or list(
        session.scalars(select(ApiToken).where(ApiToken.name == id_or_name))
    )
    if not named:
        raise NotFound(f"no token with id or name {id_or_name!r}")
    if len(named) > 1:
        ids = ", ".join(str(t.id) for t in named)
        raise Conflict(f"several tokens are named {id_or_name!r} (ids {ids}); revoke one by id")
    return named[0]
