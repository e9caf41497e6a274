"""The monthly report from the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest

from costtracker.errors import InvalidInput
from costtracker.reports.model import MonthlyReport, ProviderReport
from costtracker.reports.monthly import build_report
from costtracker.settings import Settings
from costtracker.sources.base import Period
from tests.conftest import Db
from tests.reports.conftest import FEBRUARY, JANUARY, InProcess, Ledger, collect, failing_transport

EMULATED = ["openai", "anthropic", "deepgram", "elevenlabs"]


def report(db: Db, month: str = "2026-02") -> MonthlyReport:
    with db.sessions() as session:
        return build_report(session, month, currency="USD")


def provider(found: MonthlyReport, key: str) -> ProviderReport:
    return next(p for p in found.providers if p.key == key)


async def test_the_change_is_this_month_minus_last_and_the_drivers_add_up_to_it_exactly(
    db: Db, settings_for: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(EMULATED)
    for period in (JANUARY, FEBRUARY):
        await collect(db, settings_for(), emulated.transports, period)
    found = report(db)
    assert found.total_status == "complete" and not found.excluded
    assert found.total is not None and found.previous_total is not None and found.change is not None
    assert found.change == found.total - found.previous_total
    assert found.drivers is not None
    assert (
        found.drivers.volume
        + found.drivers.price
        + found.drivers.mix
        + found.drivers.new
        + found.drivers.gone
        == found.change
    )
    for item in found.providers:
        assert item.status == "success"
        assert item.change == item.total - item.previous  # type: ignore[operator]
        assert item.drivers is not None and item.drivers.total == item.change
    openai = emulated.emulators["openai"].dataset
    deepgram = emulated.emulators["deepgram"].dataset
    assert provider(found, "openai").total == openai.billed_total(FEBRUARY.start, FEBRUARY.end)
    assert provider(found, "openai").previous == openai.billed_total(JANUARY.start, JANUARY.end)
    assert provider(found, "deepgram").total == deepgram.total(FEBRUARY.start, FEBRUARY.end)
    assert found.active_providers == len(EMULATED)


async def test_a_provider_that_failed_this_month_is_failed_and_left_out_of_the_change(
    db: Db, settings_for: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai", "deepgram"])
    await collect(db, settings_for(), emulated.transports, JANUARY)
    await collect(
        db, settings_for(), {**emulated.transports, "deepgram": failing_transport("deepgram")}, FEBRUARY
    )
    found = report(db)
    deepgram = provider(found, "deepgram")
    assert deepgram.status == "failed" and deepgram.total is None and deepgram.change is None
    assert deepgram.reason and deepgram.previous is not None
    assert [note for note in found.excluded if note.startswith("Deepgram")]
    openai = provider(found, "openai")
    assert found.change == openai.change
    assert found.total == openai.total and found.total_status == "partial"
    assert found.drivers is not None and found.drivers.total == found.change
    assert [p.status for p in deepgram.projects] == ["failed"] and deepgram.projects[0].total is None


def test_a_model_that_appears_is_new_and_one_that_disappears_is_gone(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000), "davinci": ("4", 100)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("10", 1000), "gpt-5": ("6.5", 300)})
    drivers = report(db).drivers
    assert drivers is not None
    assert (drivers.new, drivers.gone) == (Decimal("6.5"), Decimal(-4))
    assert drivers.volume == drivers.price == drivers.mix == 0


def test_a_price_change_shows_in_price(db: Db, ledger: Ledger) -> None:
    ledger.month("anthropic", JANUARY, {"claude": ("30", 10_000)})
    ledger.month("anthropic", FEBRUARY, {"claude": ("45", 10_000)})
    found = report(db)
    assert found.drivers is not None and found.drivers.price == Decimal(15) == found.change
    assert found.change_pct == Decimal("50.0")


def test_a_provider_never_collected_last_month_is_left_out_not_new(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("12", 1200)})
    ledger.month("mistral", FEBRUARY, {"large": ("99", 5000)})
    found = report(db)
    assert found.change == Decimal(2) and found.drivers is not None and found.drivers.new == 0
    assert found.excluded == [
        "Mistral is left out of the change: 2026-01 unavailable (never collected for 2026-01)"
    ]
    assert provider(found, "mistral").previous is None and provider(found, "mistral").total == Decimal(99)
    assert found.total == Decimal(111) and found.previous_total == Decimal(10)


def test_a_provider_known_to_cost_nothing_last_month_is_new(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", JANUARY, {})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("12", 1200)})
    found = report(db)
    assert found.change == Decimal(12) and found.drivers is not None and found.drivers.new == Decimal(12)
    assert found.change_pct is None  # nothing to compare with


def test_a_partial_month_shows_what_is_known_but_is_not_compared(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("3", 300)}, status="partial")
    found = report(db)
    openai = provider(found, "openai")
    assert (openai.status, openai.total, openai.change) == ("partial", Decimal(3), None)
    assert found.change is None and found.drivers is None and found.total_status == "partial"


def test_the_trend_has_six_months_oldest_first_unknown_where_never_collected(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", Period.month(2025, 11), {"gpt-4o": ("5", 100)})
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("12", 1200)})
    trend = report(db).trend
    assert [p.month for p in trend] == ["2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]
    assert [p.status for p in trend] == ["unknown", "unknown", "complete", "unknown", "complete", "complete"]
    assert [p.total for p in trend] == [None, None, Decimal(5), None, Decimal(10), Decimal(12)]


def test_projects_are_listed_per_workspace_and_add_up_to_the_provider(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("10", 1000)}, account="edugami", project="tutor")
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("2.5", 100)}, account="memoways", project="story")
    ledger.month("openai", JANUARY, {"gpt-4o": ("1", 10)}, account="memoways", project="old")
    openai = provider(report(db), "openai")
    rows = {(p.workspace, p.project): p for p in openai.projects}
    assert set(rows) == {("Edugami", "Tutor"), ("Memoways", "Story"), ("Memoways", "Old")}
    assert rows[("Memoways", "Old")].total == 0 and rows[("Memoways", "Old")].previous == Decimal(1)
    assert sum((p.total or Decimal(0) for p in openai.projects), Decimal(0)) == openai.total
    assert rows[("Edugami", "Tutor")].models == ["gpt-4o"] and rows[("Edugami", "Tutor")].status == "success"


def test_the_report_comes_back_the_same_from_its_json(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10.123456789", 1000)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("12", 1200), "o3": ("1", 7)})
    ledger.failed("deepgram", FEBRUARY, "the key was refused")
    found = report(db)
    data = json.loads(json.dumps(found.to_dict()))
    assert MonthlyReport.from_dict(data) == found
    assert data["total"] == "13" and data["providers"][1]["total"] is None


def test_a_month_that_has_not_started_is_refused(db: Db) -> None:
    with pytest.raises(InvalidInput) as caught:
        report(db, "2999-01")
    assert caught.value.param == "month"
