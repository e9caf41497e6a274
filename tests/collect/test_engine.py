"""The engine against real sources and their emulators, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from costtracker.collect.engine import CollectionEngine
from costtracker.emulators.base import EmulatorConfig
from costtracker.http import RateLimit, RetryPolicy
from costtracker.settings import Settings
from costtracker.sources.base import Period
from costtracker.store.models import CollectionRun, CostLine, Outcome, RunOutcome
from costtracker.store.queries import cost_summary, resolve_scope
from tests.collect.conftest import InProcess
from tests.conftest import Db

MONTH = Period.month(2026, 1)


async def no_sleep(_seconds: float) -> None:
    return None


def engine_for(db: Db, settings: Settings, emulated: InProcess) -> CollectionEngine:
    return CollectionEngine(
        settings,
        db.sessions,
        transports=emulated.transports,
        policy=RetryPolicy(max_retries=4, backoff_seconds=0),
        sleep=no_sleep,
        rate_limit=RateLimit(concurrency=8, per_second=10_000),
    )


def ledger_state(db: Db) -> tuple[int, Decimal]:
    with db.sessions() as session:
        count = session.scalar(select(func.count()).select_from(CostLine)) or 0
        total = session.scalar(select(func.sum(CostLine.amount_usd)).where(CostLine.in_total)) or Decimal(0)
    return count, total


def summary(db: Db, provider: str, period: Period, **filters: Any) -> dict[str, Any]:
    with db.sessions() as session:
        scope = resolve_scope(session, provider=provider, start=period.start, end=period.end, **filters)
        return cost_summary(session, scope)


async def test_it_gives_identical_totals_when_collecting_twice(
    db: Db, make_settings: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"], EmulatorConfig(page_size=2))
    settings = make_settings(database_url=db.url)
    first = await engine_for(db, settings, emulated).run(MONTH)
    after_first = ledger_state(db)
    second = await engine_for(db, settings, emulated).run(MONTH)
    assert first.status == second.status == Outcome.SUCCESS
    assert ledger_state(db) == after_first
    expected = emulated.emulators["openai"].dataset.billed_total(MONTH.start, MONTH.end)
    assert Decimal(summary(db, "openai", MONTH)["total"]) == expected


async def test_it_fails_one_workspace_with_a_revoked_key_and_collects_the_others(
    db: Db, make_settings: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    from costtracker.emulators.openai import DEMO_ENV

    revoked = DEMO_ENV["OPENAI_ADMIN_KEY_MEMOWAYS"]
    emulated = in_process(["openai"], EmulatorConfig(revoked_keys={revoked}))
    result = await engine_for(db, make_settings(database_url=db.url), emulated).run(MONTH)
    assert result.status == Outcome.PARTIAL
    by_account = {o.account: o for o in result.outcomes}
    assert by_account["Memoways"].status == Outcome.FAILED
    assert "Memoways" in (by_account["Memoways"].reason or "") or "key" in (
        by_account["Memoways"].reason or ""
    )
    assert revoked not in (by_account["Memoways"].reason or "")
    assert {by_account[name].status for name in ("Edugami", "Storygami")} == {Outcome.SUCCESS}
    assert summary(db, "openai", MONTH, workspace="Memoways")["status"] == "partial"
    assert summary(db, "openai", MONTH, workspace="Edugami")["status"] == "complete"


async def test_it_gets_exact_totals_through_429s_and_occasional_500s(
    db: Db, make_settings: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"], EmulatorConfig(page_size=3, throttle_every=4, fail_every=7))
    result = await engine_for(db, make_settings(database_url=db.url), emulated).run(MONTH)
    assert result.status == Outcome.SUCCESS, [o.reason for o in result.outcomes]
    stats = emulated.emulators["openai"].stats
    assert stats.statuses.get(429) and stats.statuses.get(500)
    expected = emulated.emulators["openai"].dataset.billed_total(MONTH.start, MONTH.end)
    assert Decimal(summary(db, "openai", MONTH)["total"]) == expected


async def test_a_provider_that_was_never_collected_is_unknown_not_zero(
    db: Db, make_settings: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"])
    await engine_for(db, make_settings(database_url=db.url), emulated).run(MONTH)
    earlier = Period.month(2025, 6)
    answer = summary(db, "openai", earlier)
    assert answer["status"] == "unknown"
    assert answer["total"] is None


async def test_it_stores_the_run_with_its_outcomes_and_log(
    db: Db, make_settings: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"])
    result = await engine_for(db, make_settings(database_url=db.url), emulated).run(
        MONTH, trigger="api", providers=["openai"]
    )
    with db.sessions() as session:
        run = session.get(CollectionRun, result.run_id)
        assert run is not None
        outcomes = session.scalars(select(RunOutcome).where(RunOutcome.run_id == run.id)).all()
        assert (run.trigger, run.status, run.period_start, run.period_end) == (
            "api",
            "success",
            date(2026, 1, 1),
            date(2026, 1, 31),
        )
        assert len(outcomes) == 3 and all(o.lines > 0 and o.requests_made > 0 for o in outcomes)
        assert run.lines_written == sum(o.lines for o in outcomes)


async def test_a_provider_that_is_not_configured_is_skipped_with_the_reason(
    db: Db, make_settings: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai"])
    result = await engine_for(db, make_settings(database_url=db.url), emulated).run(
        MONTH, providers=["openai", "anthropic"]
    )
    skipped = [o for o in result.outcomes if o.provider == "anthropic"]
    assert len(skipped) == 1 and skipped[0].status in (Outcome.SKIPPED, Outcome.UNAVAILABLE)
    assert "ANTHROPIC" in (skipped[0].reason or "")
    assert result.status == Outcome.SUCCESS
