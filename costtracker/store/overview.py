"""Totals over many providers or projects at once, and series for charts, from the day rollup.

Each total follows ``cost_summary``'s rules exactly (billed, estimated where nothing is billed,
manual; never an unpriced line; ``unknown`` when never collected, then no total at all), but is
computed for every provider in a few queries instead of a few queries per provider, so the
overview stays fast after years of history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from costtracker.clock import as_utc, today
from costtracker.settings import Settings
from costtracker.store.explorer import provider_list
from costtracker.store.models import (
    Account,
    CostRollupDay,
    CostRollupTotal,
    Coverage,
    Project,
    Provenance,
    Provider,
)
from costtracker.store.queries import COUNTED, judge_coverage
from costtracker.store.rollups import Filter, cut, month_totals_query, totals_query
from costtracker.store.types import plain


@dataclass
class Sums:
    """What rollup rows add up to, with the same rules as ``queries._Totals``."""

    total: Decimal = Decimal(0)
    shadow: Decimal = Decimal(0)  # estimates shadowing billed money: shown, never added
    by_provenance: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    unpriced: int = 0
    unconverted: int = 0

    def add(self, row: Any) -> None:
        if row.provenance == Provenance.UNPRICED.value:
            self.unpriced += int(row.lines)
            return
        self.unconverted += int(row.priced) - int(row.converted)
        amount = row.amount if row.amount is not None else Decimal(0)
        if not row.in_total:
            self.shadow += amount
            return
        self.total += amount
        self.by_provenance[row.provenance] += amount


@dataclass(frozen=True)
class Status:
    status: str  # complete | partial | unknown
    last_updated: datetime | None
    reasons: list[str]


def money(value: Decimal | None) -> str | None:
    return None if value is None else format(plain(value), "f")


def sums_by(session: Session, chosen: Filter, start: date, end: date, column: Any) -> dict[Any, Sums]:
    """``column`` (a CostRollupDay column) -> its sums over the days."""
    found: dict[Any, Sums] = defaultdict(Sums)
    for row in session.execute(totals_query(chosen, start, end, column.label("key"))):
        found[row.key].add(row)
    return found


def provider_sums(session: Session, start: date, end: date) -> dict[int, Sums]:
    """provider id -> its sums: whole months from the provider-month rollup, other days from the day one."""
    found: dict[int, Sums] = defaultdict(Sums)
    parts = cut(start, end)
    if parts.months:
        t = CostRollupTotal
        for row in session.execute(month_totals_query(None, parts.months, t.provider_id.label("key"))):
            found[row.key].add(row)
    for first, last in parts.days:
        for row in session.execute(
            totals_query(Filter(), first, last, CostRollupDay.provider_id.label("key"))
        ):
            found[row.key].add(row)
    return found


def statuses(session: Session, keys: list[str], start: date, end: date) -> dict[str, Status]:
    """``coverage_status`` of each whole provider, in three queries whatever their number."""
    last_day = min(end, today())
    expected_days = (last_day - start).days + 1 if last_day >= start else 0
    credentials = provider_credentials(session, keys)
    groups: dict[str, list[Any]] = defaultdict(list)
    query = (
        select(
            Coverage.provider_key,
            Coverage.credential,
            Coverage.status,
            Coverage.reason,
            func.count().label("days"),
            func.max(Coverage.collected_at).label("collected_at"),
        )
        .where(Coverage.provider_key.in_(keys), Coverage.day >= start, Coverage.day <= last_day)
        .group_by(Coverage.provider_key, Coverage.credential, Coverage.status, Coverage.reason)
    )
    for row in session.execute(query):
        groups[row.provider_key].append(row)
    return {key: Status(*judge_coverage(groups[key], expected_days, len(credentials[key]))) for key in keys}


def provider_credentials(session: Session, keys: list[str]) -> dict[str, set[str]]:
    """As ``queries.credentials_of`` for whole providers: their accounts' keys and every covered one."""
    found: dict[str, set[str]] = defaultdict(set)
    accounts = session.execute(select(Provider.key, Account.meta).join(Account).where(Provider.key.in_(keys)))
    for key, meta in accounts:
        if meta.get("credential"):
            found[key].add(str(meta["credential"]))
    covered = select(Coverage.provider_key, Coverage.credential).where(Coverage.provider_key.in_(keys))
    for key, credential in session.execute(covered.group_by(Coverage.provider_key, Coverage.credential)):
        found[key].add(credential)
    return found


def provider_figures(sums: Sums | None, status: Status) -> dict[str, Any]:
    """One provider's total, as ``cost_summary`` would give it for the same period."""
    sums = sums or Sums()
    state, reasons = status.status, list(status.reasons)
    if sums.unconverted and state == "complete":
        state = "partial"
        reasons.append("some amounts could not be converted (missing exchange rate)")
    return {
        "total": None if state == "unknown" else money(sums.total),
        "status": state,
        "reasons": reasons,
        "by_provenance": {name: money(sums.by_provenance.get(name, Decimal(0))) for name in COUNTED},
        "estimated_not_counted": money(sums.shadow),
        "unpriced_lines": sums.unpriced,
        "last_updated": as_utc(status.last_updated).isoformat() if status.last_updated else None,
    }


def project_totals(session: Session, chosen: Filter, start: date, end: date) -> list[dict[str, Any]]:
    """Each project's counted total (largest first); lines without a project as ``id`` None."""
    sums = sums_by(session, chosen, start, end, CostRollupDay.project_id)
    ids = [key for key in sums if key]
    chosen_projects = (
        select(Project.id, Project.external_id, Project.name, Account.name.label("workspace"))
        .join(Account)
        .where(Project.id.in_(ids))
    )
    names = {row.id: row for row in session.execute(chosen_projects)}
    rows = [
        {
            "id": names[key].external_id if key in names else None,
            "name": names[key].name if key in names else None,
            "workspace": names[key].workspace if key in names else None,
            "total": money(found.total),
            "estimated": money(found.by_provenance.get(Provenance.ESTIMATED.value, Decimal(0))),
            "unpriced_lines": found.unpriced,
        }
        for key, found in sums.items()
    ]
    return sorted(rows, key=lambda r: (-Decimal(r["total"]), r["name"] or ""))


def overview(
    session: Session, settings: Settings, *, start: date, end: date, currency: str
) -> dict[str, Any]:
    """Every provider that was collected or is configured, with its total and status for the days."""
    providers = [p for p in provider_list(session, settings) if p["collected"] or p["configured"]]
    keys = [p["key"] for p in providers]
    stored = select(Provider.key, Provider.id).where(Provider.key.in_(keys))
    ids: dict[str, int] = {key: provider_id for key, provider_id in session.execute(stored)}
    sums = provider_sums(session, start, end)
    found = statuses(session, keys, start, end)
    rows = [
        {name: p[name] for name in SHOWN} | provider_figures(sums.get(ids.get(p["key"], 0)), found[p["key"]])
        for p in providers
    ]
    known = [row for row in rows if row["total"] is not None]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "currency": currency,
        "total": money(sum((Decimal(row["total"]) for row in known), Decimal(0))) if known else None,
        "status": overall(rows),
        "reasons": [f"{row['display_name']}: {reason}" for row in rows for reason in row["reasons"]],
        "providers": rows,
    }


SHOWN = ("key", "display_name", "kind", "has_workspaces", "console_url", "last_collection")


def overall(rows: list[dict[str, Any]]) -> str:
    states = {row["status"] for row in rows}
    if not states or states == {"unknown"}:
        return "unknown"
    return "complete" if states == {"complete"} else "partial"
