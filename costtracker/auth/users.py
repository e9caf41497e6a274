"""Users and roles: add, list, remove, change a password, check a login, create the first admin.

Functions take an open session and leave committing to the caller (one transaction per
action, audit entry included). E-mails are stored lower-cased so a login is case-insensitive.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from costtracker.auth import audit
from costtracker.auth.passwords import check_strength, hash_password, needs_rehash, verify_password
from costtracker.auth.principal import Role
from costtracker.clock import utcnow
from costtracker.errors import Conflict, CostTrackerError, InvalidInput, NotFound
from costtracker.settings import Settings
from costtracker.store.db import transaction
from costtracker.store.models import User, UserSession

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise InvalidInput("email", f"{email!r} is not an e-mail address")
    return email


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise InvalidInput("role", f"must be one of {', '.join(Role)} (got {role!r})") from None


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"no user {email.strip().lower()!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0


def add_user(session: Session, email: str, password: str, role: Role, *, actor: str) -> User:
    email = normalise_email(email)
    check_strength(password)
    if find_user(session, email) is not None:
        raise Conflict(f"a user {email!r} already exists")
    user = User(email=email, password_hash=hash_password(password), role=role.value)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", email, details={"role": role.value})
    return user


def remove_user(session: Session, email: str, *, actor: str) -> None:
    """Remove a user (their sessions go with them); the last admin cannot be removed."""
    user = get_user(session, email)
    if user.role == Role.ADMIN and _admins(session) <= 1:
        raise Conflict(f"{user.email} is the last admin; add another admin first")
    session.delete(user)
    audit.record(session, actor, "user.remove", user.email)


def set_password(session: Session, email: str, password: str, *, actor: str) -> User:
    """Change a password and end the user's sessions, so a stolen cookie stops working."""
    user = get_user(session, email)
    check_strength(password)
    user.password_hash = hash_password(password)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    audit.record(session, actor, "user.passwd", user.email)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when the e-mail and password match an enabled account, else None (same time)."""
    user = find_user(session, email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or user.disabled:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def ensure_admin(session: Session, email: str, password: str) -> tuple[User, bool]:
    """Create the admin when missing (idempotent). An existing account is left as it is, so a
    password changed since with ``user passwd`` is not reset at every start."""
    existing = find_user(session, email)
    if existing is not None:
        return existing, False
    return add_user(session, email, password, Role.ADMIN, actor=audit.SYSTEM), True


def _admins(session: Session) -> int:
    query = select(func.count(User.id)).where(User.role == Role.ADMIN.value, User.disabled.is_(False))
    return session.scalar(query) or 0


def create_first_admin(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """At start: the admin named by COSTTRACKER_ADMIN_EMAIL / _PASSWORD(_FILE), when missing."""
    if not settings.admin_email:
        return
    if settings.admin_password is None or not settings.admin_password.get_secret_value():
        log.warning("COSTTRACKER_ADMIN_EMAIL is set without COSTTRACKER_ADMIN_PASSWORD: no admin created")
        return
    try:
        with transaction(sessions) as session:
            _, created = ensure_admin(
                session, settings.admin_email, settings.admin_password.get_secret_value()
            )
    except SQLAlchemyError as exc:
        log.error("could not create the first admin (is the schema migrated?): %s", type(exc).__name__)
        return
    except CostTrackerError as exc:
        log.error("could not create the first admin: %s", exc.message)
        return
    if created:
        log.info("created the admin %s", settings.admin_email.strip().lower())
