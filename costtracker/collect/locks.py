"""One collection per provider and period at a time, across processes.

A lock is a row with a unique key: inserting it claims it. A holder that died (its process is
gone, or it stopped renewing before ``expires_at``) is replaced with a conditional UPDATE that
only one contender can win, so a crashed run never blocks the next one.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from costtracker.clock import utcnow
from costtracker.sources.base import Period
from costtracker.store.models import CollectionLock

LEASE = timedelta(minutes=30)


def holder_id() -> str:
    """Who we are: host, process and a random part (two engines in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lock_key(provider: str, period: Period) -> str:
    return f"collect:{provider}:{period.start.isoformat()}:{period.end.isoformat()}"


def holder_is_dead(holder: str) -> bool:
    """True when the holder ran on this host and its process no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(sessions: sessionmaker[Session], key: str, holder: str, run_id: int | None) -> str | None:
    """Claim ``key``. Returns None on success, else the current holder."""
    now = utcnow()
    try:
        with sessions.begin() as session:
            session.add(
                CollectionLock(key=key, holder=holder, run_id=run_id, acquired_at=now, expires_at=now + LEASE)
            )
        return None
    except IntegrityError:
        pass
    with sessions.begin() as session:
        current = session.scalar(select(CollectionLock).where(CollectionLock.key == key))
        if current is None:
            return acquire(sessions, key, holder, run_id)
        expired = _aware(current.expires_at) <= now
        if not (expired or holder_is_dead(current.holder)):
            return current.holder
        taken = session.execute(
            update(CollectionLock)
            .where(CollectionLock.key == key, CollectionLock.holder == current.holder)
            .values(holder=holder, run_id=run_id, acquired_at=now, expires_at=now + LEASE)
        )
        return None if getattr(taken, "rowcount", 0) == 1 else current.holder


def previous_run(sessions: sessionmaker[Session], key: str) -> int | None:
    with sessions() as session:
        return session.scalar(select(CollectionLock.run_id).where(CollectionLock.key == key))


def release(sessions: sessionmaker[Session], key: str, holder: str) -> None:
    with sessions.begin() as session:
        session.execute(
            delete(CollectionLock).where(CollectionLock.key == key, CollectionLock.holder == holder)
        )


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; ours are always UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
