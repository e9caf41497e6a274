"""Series for charts: counted money per day (or per month over longer periods), per provider.

A bucket with no line and no collection at all is ``None`` (a gap in the chart), not 0: unknown
is never zero. The estimated part of each bucket is given apart so a chart can mark it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from costtracker.store.models import CostRollupDay, CostRollupTotal, Coverage, Provenance, Provider
from costtracker.store.queries import COUNTED
from costtracker.store.rollups import (
    Filter,
    cut,
    month_of,
    month_start,
    month_totals_query,
    next_month,
    totals_query,
)
from costtracker.store.types import plain

DAILY_UP_TO = 92  # days; longer periods are drawn per month


def buckets(start: date, end: date) -> tuple[str, list[date]]:
    if (end - start).days + 1 <= DAILY_UP_TO:
        return "day", [start + timedelta(days=n) for n in range((end - start).days + 1)]
    months, month = [], month_start(start)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return "month", months


def series(
    session: Session, chosen: Filter, *, start: date, end: date, currency: str, covered: list[str]
) -> dict[str, Any]:
    """Counted amounts per bucket and provider; ``covered``: the provider keys whose collections
    count as "known" for the gaps (the scope's providers)."""
    bucket, periods = buckets(start, end)
    amounts: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    estimated: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in _rows(session, chosen, start, end, bucket):
        if not row.in_total or row.provenance not in COUNTED:
            continue
        amounts[row.provider_id][row.at] += row.amount or Decimal(0)
        if row.provenance == Provenance.ESTIMATED.value:
            estimated[row.provider_id][row.at] += row.amount or Decimal(0)
    names = {p.id: p for p in session.scalars(select(Provider).where(Provider.key.in_(covered)))}
    known = _covered(session, covered, start, end, bucket)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "currency": currency,
        "bucket": bucket,
        "periods": [p.isoformat() for p in periods],
        "series": [
            _one(provider, amounts[pid], estimated[pid], known[provider.key], periods)
            for pid, provider in sorted(names.items(), key=lambda item: item[1].key)
            if pid in amounts or known[provider.key]
        ],
    }


def _rows(session: Session, chosen: Filter, start: date, end: date, bucket: str) -> list[Any]:
    """Sums per provider, bucket (``at``), provenance and in_total. Whole months of a provider (or of
    all) come from the provider-month rollup; days, workspaces and projects from the day rollup."""
    d = CostRollupDay
    if bucket == "day":
        return list(session.execute(totals_query(chosen, start, end, d.provider_id, d.day.label("at"))))
    at = month_of(session, d.day).label("at")
    if chosen.account_id is not None or chosen.project_id is not None:
        return list(session.execute(totals_query(chosen, start, end, d.provider_id, at)))
    parts = cut(start, end)
    rows: list[Any] = []
    if parts.months:
        t = CostRollupTotal
        query = month_totals_query(chosen.provider_id, parts.months, t.provider_id, t.month.label("at"))
        rows.extend(session.execute(query))
    for first, last in parts.days:
        rows.extend(session.execute(totals_query(chosen, first, last, d.provider_id, at)))
    return rows


def _one(
    provider: Provider,
    amounts: dict[date, Decimal],
    estimated: dict[date, Decimal],
    known: set[date],
    periods: list[date],
) -> dict[str, Any]:
    points = [_point(amounts, at, known) for at in periods]
    return {
        "provider": provider.key,
        "name": provider.display_name,
        "amounts": points,
        "estimated": [
            None if point is None else _point(estimated, at, {at})
            for point, at in zip(points, periods, strict=True)
        ],
    }


def _point(values: dict[date, Decimal], at: date, known: set[date]) -> str | None:
    if at in values:
        return format(plain(values[at]), "f")
    return "0" if at in known else None


def _covered(session: Session, keys: list[str], start: date, end: date, bucket: str) -> dict[str, set[date]]:
    """The buckets each provider has any collection for (success or not)."""
    when = Coverage.day if bucket == "day" else month_of(session, Coverage.day)
    query = (
        select(Coverage.provider_key, when.label("at"))
        .where(Coverage.provider_key.in_(keys), Coverage.day >= start, Coverage.day <= end)
        .group_by(Coverage.provider_key, when)
    )
    found: dict[str, set[date]] = defaultdict(set)
    for key, at in session.execute(query):
        found[key].add(at)
    return found
