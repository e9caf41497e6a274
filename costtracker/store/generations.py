"""A counter per provider that says "the ledger changed": what caches compare, in every process.

The collection writer bumps it in the same transaction as the lines and coverage it writes, so a
reader that sees the new data also sees the new generation. Reading every counter is one query
on a table of one row per provider.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from costtracker.clock import utcnow
from costtracker.store.models import LedgerGeneration


def bump_generation(session: Session, provider_key: str) -> None:
    """Mark ``provider_key``'s data as changed (the caller commits)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(LedgerGeneration).values(provider_key=provider_key, generation=1, changed_at=utcnow())
    statement = statement.on_conflict_do_update(
        index_elements=["provider_key"],
        set_={"generation": LedgerGeneration.generation + 1, "changed_at": statement.excluded.changed_at},
    )
    session.execute(statement)


def generations(session: Session) -> dict[str, int]:
    """provider key -> its generation (absent: never written)."""
    rows = session.execute(select(LedgerGeneration.provider_key, LedgerGeneration.generation))
    return {key: int(generation) for key, generation in rows}
