"""Time in one place, always timezone-aware UTC (the ledger's days are UTC days)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


def as_utc(moment: datetime) -> datetime:
    """A moment read back from SQLite (which drops the time zone) as aware UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
