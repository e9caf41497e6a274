"""Writing a collection: replace what was covered, keep what was not, merge what collides."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from costtracker.collect.writer import merge, write_collection
from costtracker.sources.base import AccountInfo, Collection, CostRecord, Discovery, Period
from costtracker.sources.openrouter import OpenRouterSource
from costtracker.store.models import CostLine, Coverage, Provenance
from tests.conftest import Db

OCTOBER = Period.month(2026, 10)


def line(day: int, amount: str, model: str = "m") -> CostRecord:
    return CostRecord(
        day=date(2026, 10, day),
        account="default",
        provenance=Provenance.BILLED,
        amount=Decimal(amount),
        model=model,
        raw={"day": day},
    )


def write(db: Db, collection: Collection) -> None:
    with db.sessions.begin() as session:
        write_collection(
            session,
            source=OpenRouterSource,
            credential="default",
            discovery=Discovery([AccountInfo("default", "OpenRouter")]),
            collection=collection,
            period=OCTOBER,
            run_id=None,
            reporting_currency="USD",
        )


def stored(db: Db) -> dict[date, Decimal | None]:
    with db.sessions() as session:
        return {row.day: row.amount for row in session.scalars(select(CostLine).order_by(CostLine.day))}


def test_a_collection_that_covers_only_recent_days_keeps_older_lines(db: Db) -> None:
    write(db, Collection([line(day, "1.5") for day in (1, 2, 30)]))
    recent = Period(date(2026, 10, 25), date(2026, 10, 31))
    write(db, Collection([line(30, "2.25")], complete=False, notes=["older than 30 days"], replaces=[recent]))
    assert stored(db) == {
        date(2026, 10, 1): Decimal("1.5"),
        date(2026, 10, 2): Decimal("1.5"),
        date(2026, 10, 30): Decimal("2.25"),
    }
    with db.sessions() as session:
        statuses = {row.day: row.status for row in session.scalars(select(Coverage))}
    assert statuses[date(2026, 10, 1)] == "success" and statuses[date(2026, 10, 30)] == "partial"


def test_a_collection_that_replaces_nothing_deletes_nothing(db: Db) -> None:
    write(db, Collection([line(3, "4")]))
    write(db, Collection([], complete=False, notes=["outside the window"], replaces=[]))
    assert stored(db) == {date(2026, 10, 3): Decimal("4")}


def test_a_full_collection_replaces_the_whole_period(db: Db) -> None:
    write(db, Collection([line(3, "4"), line(4, "5")]))
    write(db, Collection([line(4, "6")]))
    assert stored(db) == {date(2026, 10, 4): Decimal("6")}


def test_records_sharing_a_key_are_added_up() -> None:
    merged = merge([line(5, "0.1"), line(5, "0.2"), line(5, "1", model="other")])
    amounts = sorted((record.model, record.amount) for record in merged)
    assert amounts == [("m", Decimal("0.3")), ("other", Decimal("1"))]


def test_only_the_days_a_source_names_incomplete_are_partial(db: Db) -> None:
    last_week = Period(date(2026, 10, 25), date(2026, 10, 31))
    write(db, Collection([line(3, "4")], complete=False, notes=["month to date"], incomplete=[last_week]))
    with db.sessions() as session:
        rows = {row.day: (row.status, row.reason) for row in session.scalars(select(Coverage))}
    assert rows[date(2026, 10, 3)] == ("success", None)
    assert rows[date(2026, 10, 26)] == ("partial", "month to date")
