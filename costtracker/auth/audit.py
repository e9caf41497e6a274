"""The audit log: who did what to what, from where. Written in the caller's transaction.

Actions are short dotted names (``login``, ``login.failed``, ``user.add``, ``token.create``,
``request``...). ``details`` never holds a secret: callers pass names and ids, not values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from costtracker.store.models import AuditEntry

SYSTEM = "system"
CLI = "cli"


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    *,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor[:320],
        action=action[:64],
        target=target[:300] if target else None,
        details=details or {},
        ip=ip[:64] if ip else None,
    )
    session.add(entry)
    return entry


def latest(session: Session, limit: int = 100) -> list[AuditEntry]:
    """The newest entries first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))
