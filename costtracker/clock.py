"""Time in one place, always timezone-aware UTC (the ledger's days are UTC days)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()
