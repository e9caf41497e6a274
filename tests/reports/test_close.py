"""Closing a month: collect, freeze the report, deliver; a closed month stays the same."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from costtracker.collect.engine import CollectionEngine
from costtracker.collect.schedule import close_previous_month
from costtracker.errors import InvalidInput
from costtracker.http import RetryPolicy
from costtracker.periods import previous_month
from costtracker.reports.close import close_after, close_month, delivery_configured, load_snapshot, report_for
from costtracker.settings import Settings
from costtracker.store.models import CollectionRun, ReportSnapshot, RunLog
from tests.conftest import Db
from tests.reports.conftest import FEBRUARY, JANUARY, InProcess, Ledger, collect, no_sleep


def engine(db: Db, settings: Settings, emulated: InProcess) -> CollectionEngine:
    return CollectionEngine(
        settings,
        db.sessions,
        transports=emulated.transports,
        policy=RetryPolicy(max_retries=1, backoff_seconds=0),
        sleep=no_sleep,
    )


async def test_it_collects_the_month_then_freezes_its_report(
    db: Db, settings_for: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"])
    settings = settings_for()
    result = await close_month(settings, db.sessions, "2026-01", engine=engine(db, settings, emulated))
    assert result.ok and result.frozen and result.run_status == "success"
    expected = emulated.emulators["openai"].dataset.billed_total(JANUARY.start, JANUARY.end)
    assert result.report.total == expected and result.report.closed
    with db.sessions() as session:
        run = session.get(CollectionRun, result.run_id)
        assert run is not None and (run.period_start, run.period_end) == (JANUARY.start, JANUARY.end)
        assert run.trigger == "cli"
    kept = load_snapshot(db.sessions, "2026-01")
    assert kept is not None and kept[0].total == expected and kept[1] == result.run_id


async def test_a_closed_month_stays_the_same_until_it_is_closed_again(
    db: Db, ledger: Ledger, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for()
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    first = await close_month(settings, db.sessions, "2026-01", collect=False)
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000), "o3": ("5", 10)})  # a late line arrives
    again = await close_month(settings, db.sessions, "2026-01", collect=False)
    assert not again.frozen and again.report.total == first.report.total == Decimal(10)
    with db.sessions() as session:
        assert report_for(session, "2026-01", currency="USD").total == Decimal(10)
    reclosed = await close_month(settings, db.sessions, "2026-01", collect=False, reclose=True)
    assert reclosed.frozen and reclosed.report.total == Decimal(15)
    with db.sessions() as session:
        assert len(session.scalars(select(ReportSnapshot)).all()) == 1
        assert report_for(session, "2026-01", currency="USD").total == Decimal(15)


async def test_an_open_month_cannot_be_closed(db: Db, settings_for: Callable[..., Settings]) -> None:
    with pytest.raises(InvalidInput) as caught:
        await close_month(settings_for(), db.sessions, "2999-01")
    assert caught.value.param == "month" and "not over" in caught.value.message


async def test_a_delivery_that_cannot_be_made_is_reported_and_logged_on_the_run_but_the_month_is_closed(
    db: Db, settings_for: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"])
    settings = settings_for()
    result = await close_month(
        settings, db.sessions, "2026-01", send=True, engine=engine(db, settings, emulated)
    )
    assert result.frozen and not result.ok
    assert len(result.undelivered) == 1 and result.undelivered[0].startswith("e-mail: ")
    assert "REPORT_EMAIL_TO" in result.undelivered[0] or "RESEND_API_KEY" in result.undelivered[0]
    with db.sessions() as session:
        errors = session.scalars(
            select(RunLog.message).where(RunLog.run_id == result.run_id, RunLog.level == "error")
        ).all()
    assert errors == result.undelivered


async def test_closing_after_a_collection_started_elsewhere_uses_that_run(
    db: Db, settings_for: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"])
    settings = settings_for()
    result = await close_after(
        settings, db.sessions, "2026-02", collect(db, settings, emulated.transports, FEBRUARY), send=False
    )
    assert result.frozen and result.run_status == "success" and result.run_id is not None
    with db.sessions() as session:
        assert len(session.scalars(select(CollectionRun)).all()) == 1


async def test_the_monthly_schedule_closes_the_previous_month(
    db: Db, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for()  # no provider key: every source is skipped, nothing leaves the machine
    assert delivery_configured(settings) == (False, False)
    await close_previous_month(settings, db.sessions)
    month = f"{previous_month().start:%Y-%m}"
    kept = load_snapshot(db.sessions, month)
    assert kept is not None and kept[0].month == month and kept[0].total is None
    with db.sessions() as session:
        run = session.get(CollectionRun, kept[1])
        assert run is not None and run.trigger == "schedule"


def test_delivery_is_configured_by_the_seeds_variables(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        report_email_to="a@example.com",
        resend_api_key="re_test",
        notion_api_key="secret_x",
        notion_usages_db_id="db",
    )
    assert delivery_configured(settings) == (True, True)


def test_closing_a_month_twice_e_mails_its_report_once(
    db: Db, ledger: Ledger, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.notify.conftest import on_loopback

    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    with on_loopback("resend") as served:
        for name, value in served.environment().items():
            monkeypatch.setenv(name, value)
        settings = make_settings(
            database_url=db.url,
            report_email_to="ana@example.com, bo@example.com",
            email_from="Costs <costs@example.com>",
        )
        first = asyncio.run(close_month(settings, db.sessions, "2026-01", send=True, collect=False))
        second = asyncio.run(close_month(settings, db.sessions, "2026-01", send=True, collect=False))
        sent = list(served.emulator.dataset.sent)
    assert first.ok and second.ok and not second.frozen
    assert [line.split(": ")[1].split(" ")[0] for line in first.delivered] == ["sent", "sent"]
    assert all("skipped" in line for line in second.delivered)
    assert len(sent) == 2
