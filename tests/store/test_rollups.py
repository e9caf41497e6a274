"""The rollups stay exactly the sums of the lines, whoever writes them, and reading a period
through them gives the same answer as reading its lines."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from costtracker.collect.writer import record_coverage
from costtracker.sources.base import Period
from costtracker.store.ledger import (
    delete_cost_lines,
    ensure_account,
    ensure_project,
    ensure_provider,
    upsert_cost_lines,
)
from costtracker.store.models import CostLine, CostRollupDay, CostRollupMonth, Project
from costtracker.store.queries import _grouped, _Totals, cost_summary, resolve_scope
from costtracker.store.rollups import Cut, check_rollups, cut, rebuild_rollups
from tests.conftest import Db

DAYS = [date(2025, 12, 30), date(2026, 1, 1), date(2026, 1, 15), date(2026, 1, 31), date(2026, 2, 1)]
DAYS += [date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 17), date(2026, 4, 30)]


def seed(db: Db) -> dict[str, int]:
    """Two workspaces, a project in each, lines of every provenance on month edges."""
    with db.sessions.begin() as session:
        provider = ensure_provider(session, key="openai", display_name="OpenAI")
        ids = {"provider": provider.id}
        for name in ("edu", "prod"):
            account = ensure_account(
                session, provider=provider, external_id=name, name=name.title(), meta={"credential": name}
            )
            collected = Period(date(2025, 12, 1), date(2026, 4, 30))
            record_coverage(
                session,
                provider="openai",
                credential=name,
                period=collected,
                status="success",
                reason=None,
                run_id=None,
            )
            project = ensure_project(session, account=account, external_id=f"p-{name}", name=f"P {name}")
            ids[name], ids[f"p-{name}"] = account.id, project.id
        rows = [
            line(ids, name, day, model, provenance, n)
            for n, day in enumerate(DAYS)
            for name in ("edu", "prod")
            for model, provenance in (("gpt-4o", "billed"), ("gpt-4o", "estimated"), ("", "unpriced"))
        ]
        upsert_cost_lines(session, rows)
    return ids


def line(ids: dict[str, int], account: str, day: date, model: str, provenance: str, n: int) -> dict[str, Any]:
    amount = None if provenance == "unpriced" else Decimal(n + 1) + Decimal("0.123456789")
    return {
        "day": day,
        "provider_id": ids["provider"],
        "account_id": ids[account],
        "project_id": ids[f"p-{account}"] if n % 3 else None,
        "project_key": f"p-{account}" if n % 3 else "",
        "model": model,
        "line_item": "tts" if not model else "",
        "provenance": provenance,
        "in_total": provenance != "estimated",
        "amount": amount,
        "amount_usd": amount if n != 4 else None,  # one line whose rate was missing
        "requests": n,
        "input_tokens": 10 * n if n % 2 else None,
    }


def rollup_state(db: Db) -> tuple[list[Any], list[Any]]:
    with db.sessions() as session:
        days = session.execute(select(CostRollupDay).order_by(*CostRollupDay.__table__.primary_key)).scalars()
        day_rows = [_values(r) for r in days]
        months = session.execute(select(CostRollupMonth).order_by(*CostRollupMonth.__table__.primary_key))
        return day_rows, [_values(r) for r in months.scalars()]


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, c.key) for c in row.__table__.columns)


def assert_rollups_match_a_rebuild(db: Db) -> None:
    kept = rollup_state(db)
    with db.sessions.begin() as session:
        assert check_rollups(session) == []
        rebuild_rollups(session)
    assert rollup_state(db) == kept


def test_it_keeps_the_rollups_exact_through_inserts_updates_and_deletes(db: Db) -> None:
    ids = seed(db)
    assert_rollups_match_a_rebuild(db)
    with db.sessions.begin() as session:  # collecting again: the same keys, new amounts
        upsert_cost_lines(session, [line(ids, "edu", day, "gpt-4o", "billed", 7) for day in DAYS])
    assert_rollups_match_a_rebuild(db)
    with db.sessions.begin() as session:
        delete_cost_lines(
            session, provider_id=ids["provider"], account_ids=[ids["prod"]], start=DAYS[1], end=DAYS[3]
        )
    assert_rollups_match_a_rebuild(db)
    with db.sessions.begin() as session:  # an ORM update that moves a line to another month and model
        session.execute(update(CostLine).where(CostLine.day == DAYS[0]).values(day=DAYS[-1], model="o3"))
        session.execute(delete(Project).where(Project.id == ids["p-edu"]))  # lines keep, project gone
    assert_rollups_match_a_rebuild(db)


def test_it_leaves_no_empty_rollup_row_once_every_line_is_gone(db: Db) -> None:
    seed(db)
    with db.sessions.begin() as session:
        session.execute(delete(CostLine))
    assert rollup_state(db) == ([], [])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 31)),  # one whole month
        (date(2025, 12, 30), date(2026, 4, 30)),  # whole months with days before
        (date(2026, 1, 15), date(2026, 3, 1)),  # a whole month between two edges
        (date(2026, 1, 2), date(2026, 1, 30)),  # inside one month: lines only
        (date(2026, 2, 1), date(2026, 2, 28)),  # February
    ],
)
def test_a_summary_read_through_the_rollups_equals_one_read_from_the_lines(
    db: Db, start: date, end: date
) -> None:
    seed(db)
    for workspace, project in ((None, None), ("Edu", None), ("Prod", "p-prod")):
        with db.sessions() as session:
            scope = resolve_scope(
                session, provider="openai", workspace=workspace, project=project, start=start, end=end
            )
            from_lines = _Totals()
            for row in session.execute(_grouped(scope)).all():
                from_lines.add(row)
            summary = cost_summary(session, scope)
        assert summary["total"] == _plain(from_lines.total)
        assert summary["unpriced_lines"] == from_lines.unpriced
        assert {m["model"]: m["amount"] for m in summary["breakdown"]} == {
            name: None if m["amount"] is None else _plain(m["amount"])
            for name, m in from_lines.models.items()
        }


def _plain(amount: Decimal) -> str:
    from costtracker.store.types import plain

    return format(plain(amount), "f")


def test_it_cuts_a_period_into_whole_months_and_the_days_around_them() -> None:
    assert cut(date(2026, 1, 1), date(2026, 1, 31)).months == (date(2026, 1, 1), date(2026, 1, 1))
    split = cut(date(2025, 12, 30), date(2026, 3, 3))
    assert split.months == (date(2026, 1, 1), date(2026, 2, 1))
    assert split.days == [(date(2025, 12, 30), date(2025, 12, 31)), (date(2026, 3, 1), date(2026, 3, 3))]
    assert cut(date(2026, 1, 2), date(2026, 2, 27)).months is None
    week = cut(date(2026, 1, 29), date(2026, 2, 4))
    assert week.months is None and week.days == [(date(2026, 1, 29), date(2026, 2, 4))]
    every_day = [date(2024, 1, 1) + timedelta(days=n) for n in range(800)]
    for start in every_day[::37]:
        for end in every_day[::53]:
            if end >= start:
                assert covered(cut(start, end)) == (end - start).days + 1


def covered(split: Cut) -> int:
    """Days covered by a cut: its whole months plus its other days, each counted once."""
    days: int = sum((b - a).days + 1 for a, b in split.days)
    if split.months:
        month = split.months[0]
        while month <= split.months[1]:
            following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            days += (following - month).days
            month = following
    return days
