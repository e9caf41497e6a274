"""Reading the rollups: ``cost_rollup_days`` (per day, workspace, project), ``cost_rollup_months``
(per month, workspace, project, model) and ``cost_rollup_totals`` (per provider and month).

The three are kept exact by triggers on ``cost_lines`` (migration 0002), so a question can be
answered from them without reading the lines: a year is twelve month rows per model instead of
hundreds of thousands of lines. Money sums stay exact (integer nano-units on SQLite,
NUMERIC on PostgreSQL). A period is cut into its whole calendar months and the days around
them; the caller reads those days from the lines (when it needs models) or from the day rollup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Select,
    cast,
    delete,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from costtracker.store.models import CostLine, CostRollupDay, CostRollupMonth, CostRollupTotal

USAGE = ("requests", "input_tokens", "output_tokens")
MODEL_KEY = func.coalesce(func.nullif(CostLine.model, ""), func.nullif(CostLine.line_item, ""), "(other)")


@dataclass(frozen=True)
class Cut:
    """A period cut into whole months (first days, inclusive) and the days left around them."""

    months: tuple[date, date] | None
    days: list[tuple[date, date]]


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def cut(start: date, end: date) -> Cut:
    first = start if start.day == 1 else next_month(start)
    after = end + timedelta(days=1)
    stop = after if after.day == 1 else month_start(end)  # the day after the last whole month
    if first >= stop:
        return Cut(None, [(start, end)])
    days = []
    if start < first:
        days.append((start, first - timedelta(days=1)))
    if stop <= end:
        days.append((stop, end))
    last_month = month_start(stop - timedelta(days=1))
    return Cut((first, last_month), days)


@dataclass(frozen=True)
class Filter:
    """Which lines: one provider (or all), optionally one workspace and one project."""

    provider_id: int | None = None
    account_id: int | None = None
    project_id: int | None = None

    def on(self, table: Any) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.provider_id is not None:
            conditions.append(table.provider_id == self.provider_id)
        if self.account_id is not None:
            conditions.append(table.account_id == self.account_id)
        if self.project_id is not None:
            conditions.append(table.project_id == self.project_id)
        return conditions


def model_rows(session: Session, chosen: Filter, months: tuple[date, date]) -> list[Any]:
    """Whole months grouped like ``queries._grouped`` (same labels, same meaning)."""
    m = CostRollupMonth
    query = (
        select(
            m.model.label("model"),
            m.provenance,
            m.in_total,
            func.sum(m.amount_usd).label("amount"),
            func.sum(m.requests).label("requests"),
            func.sum(m.input_tokens).label("input_tokens"),
            func.sum(m.output_tokens).label("output_tokens"),
            _int_sum(m.lines, "lines"),
            _int_sum(m.converted, "converted"),
            _int_sum(m.priced, "priced"),
        )
        .where(m.month >= months[0], m.month <= months[1], *chosen.on(m))
        .group_by(m.model, m.provenance, m.in_total)
    )
    return list(session.execute(query).all())


def _int_sum(column: Any, label: str) -> Any:
    return cast(func.sum(column), Integer).label(label)


def totals_query(chosen: Filter, start: date, end: date, *by: Any) -> Select[Any]:
    """Day rollup sums for ``start``..``end`` grouped by ``by`` (columns of CostRollupDay)."""
    d = CostRollupDay
    return (
        select(
            *by,
            d.provenance,
            d.in_total,
            func.sum(d.amount_usd).label("amount"),
            _int_sum(d.lines, "lines"),
            _int_sum(d.converted, "converted"),
            _int_sum(d.priced, "priced"),
        )
        .where(d.day >= start, d.day <= end, *chosen.on(d))
        .group_by(*by, d.provenance, d.in_total)
    )


def month_of(session: Session, day: Any) -> Any:
    """SQL for the first day of ``day``'s month (each database has its own words for it)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("month", cast(day, DateTime())).cast(Date)
    return type_coerce(func.strftime("%Y-%m-01", day), Date)  # read back as a date


def month_totals_query(provider_id: int | None, months: tuple[date, date], *by: Any) -> Select[Any]:
    """Provider-month sums for whole months (first days, inclusive) grouped by ``by``."""
    t = CostRollupTotal
    query = select(
        *by,
        t.provenance,
        t.in_total,
        func.sum(t.amount_usd).label("amount"),
        _int_sum(t.lines, "lines"),
        _int_sum(t.converted, "converted"),
        _int_sum(t.priced, "priced"),
    ).where(t.month >= months[0], t.month <= months[1])
    if provider_id is not None:
        query = query.where(t.provider_id == provider_id)
    return query.group_by(*by, t.provenance, t.in_total)


def rebuild_rollups(session: Session) -> None:
    """Recompute every rollup from the lines (after a load that bypassed the triggers, or a repair)."""
    line = CostLine
    month = month_of(session, line.day)
    project = func.coalesce(line.project_id, 0)
    sums: dict[str, Any] = {
        "amount_usd": func.coalesce(func.sum(line.amount_usd), 0),
        "lines": func.count(),
        "converted": func.count(line.amount_usd),
        "priced": func.count(line.amount),
    }
    usage = {name: func.coalesce(func.sum(getattr(line, name)), 0) for name in USAGE}
    days: dict[str, Any] = {"provider_id": line.provider_id, "day": line.day, "account_id": line.account_id}
    days |= {"project_id": project, "provenance": line.provenance, "in_total": line.in_total}
    months: dict[str, Any] = {"provider_id": line.provider_id, "month": month, "account_id": line.account_id}
    months |= {"project_id": project, "model": MODEL_KEY, "provenance": line.provenance}
    months |= {"in_total": line.in_total}
    totals: dict[str, Any] = {"provider_id": line.provider_id, "month": month, "provenance": line.provenance}
    totals |= {"in_total": line.in_total}
    tables = (
        (CostRollupDay, days, sums),
        (CostRollupMonth, months, sums | usage),
        (CostRollupTotal, totals, sums),
    )
    for table, keys, values in tables:
        session.execute(delete(table))
        chosen = select(*keys.values(), *values.values()).group_by(*keys.values())
        session.execute(insert(table).from_select([*keys, *values], chosen))


def check_rollups(session: Session) -> list[str]:
    """Differences between the rollups and the lines they add up (empty when they agree)."""
    problems = []
    day_sums = select(func.coalesce(func.sum(CostLine.amount_usd), 0), func.count())
    lines_total, lines_count = session.execute(day_sums).one()
    for table in (CostRollupDay, CostRollupMonth, CostRollupTotal):
        total, count = session.execute(
            select(func.coalesce(func.sum(table.amount_usd), 0), func.coalesce(func.sum(table.lines), 0))
        ).one()
        if (total, int(count)) != (lines_total, lines_count):
            problems.append(
                f"{table.__tablename__}: {total} over {count} lines; lines: {lines_total} over {lines_count}"
            )
    return problems
