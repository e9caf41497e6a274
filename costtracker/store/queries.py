"""Reading the ledger: the answers the CLI, the API and the pages share.

The total counts billed money first, estimates only where nothing is billed (sources mark an
estimate that shadows billed money ``in_total = False``), manual entries, and never an unpriced
line: those are counted apart. Whether the numbers can be trusted is said by ``status``, from
the coverage the engine records day by day: ``complete``, ``partial`` (some collection failed
or some days were never collected) or ``unknown`` (never collected: the total is then null, not 0).

At any history size: the whole months of a period are read from the month rollup (kept exact
by triggers, see :mod:`costtracker.store.rollups`), only the days around them from the lines,
and the two are added in exactly the same way, so the answer is the same as from the lines alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from costtracker.clock import as_utc, today
from costtracker.errors import InvalidInput
from costtracker.store.models import Account, CostLine, Coverage, Outcome, Project, Provenance, Provider
from costtracker.store.rollups import MODEL_KEY as MODEL_KEY  # re-exported: reports group by it
from costtracker.store.rollups import Filter, cut, model_rows
from costtracker.store.types import plain

COUNTED = (Provenance.BILLED.value, Provenance.ESTIMATED.value, Provenance.MANUAL.value)


@dataclass(frozen=True)
class Scope:
    """What a question is about: a provider, optionally one workspace and one project, and days."""

    provider: Provider
    account: Account | None
    project: Project | None
    start: date
    end: date


def find_provider(session: Session, key: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.key == key))
    if provider is None:
        raise InvalidInput("provider", f"unknown provider {key!r} (or never collected)")
    return provider


def find_account(session: Session, provider: Provider, workspace: str) -> Account:
    """A workspace by external id or display name (case-insensitive)."""
    account = session.scalar(
        select(Account).where(
            Account.provider_id == provider.id,
            or_(Account.external_id == workspace, func.lower(Account.name) == workspace.lower()),
        )
    )
    if account is None:
        raise InvalidInput("workspace", f"{provider.display_name} has no workspace {workspace!r}")
    return account


def find_project(session: Session, provider: Provider, account: Account | None, project: str) -> Project:
    query = (
        select(Project)
        .join(Account)
        .where(
            Account.provider_id == provider.id,
            or_(Project.external_id == project, func.lower(Project.name) == project.lower()),
        )
    )
    if account is not None:
        query = query.where(Project.account_id == account.id)
    found = session.scalars(query).all()
    if not found:
        raise InvalidInput("project", f"no project {project!r} at {provider.display_name}")
    if len(found) > 1:
        raise InvalidInput("project", f"{project!r} names projects in several workspaces; give the workspace")
    return found[0]


def resolve_scope(
    session: Session,
    *,
    provider: str,
    workspace: str | None = None,
    project: str | None = None,
    start: date,
    end: date,
) -> Scope:
    found = find_provider(session, provider)
    account = find_account(session, found, workspace) if workspace else None
    chosen = find_project(session, found, account, project) if project else None
    return Scope(found, account, chosen, start, end)


def _where(scope: Scope) -> ColumnElement[bool]:
    conditions = [
        CostLine.provider_id == scope.provider.id,
        CostLine.day >= scope.start,
        CostLine.day <= scope.end,
    ]
    if scope.account is not None:
        conditions.append(CostLine.account_id == scope.account.id)
    if scope.project is not None:
        conditions.append(CostLine.project_id == scope.project.id)
    return and_(*conditions)


def _grouped(scope: Scope) -> Select[*tuple[Any, ...]]:
    return (
        select(
            MODEL_KEY.label("model"),
            CostLine.provenance,
            CostLine.in_total,
            func.sum(CostLine.amount_usd).label("amount"),
            func.sum(CostLine.requests).label("requests"),
            func.sum(CostLine.input_tokens).label("input_tokens"),
            func.sum(CostLine.output_tokens).label("output_tokens"),
            func.count().label("lines"),
            func.count(CostLine.amount_usd).label("converted"),
            func.count(CostLine.amount).label("priced"),
        )
        .where(_where(scope))
        .group_by(MODEL_KEY, CostLine.provenance, CostLine.in_total)
    )


def scope_filter(scope: Scope) -> Filter:
    return Filter(
        scope.provider.id,
        scope.account.id if scope.account else None,
        scope.project.id if scope.project else None,
    )


def grouped_rows(session: Session, scope: Scope) -> list[Any]:
    """Sums per model, provenance and in_total: whole months from the rollup, other days from lines."""
    parts = cut(scope.start, scope.end)
    rows = model_rows(session, scope_filter(scope), parts.months) if parts.months else []
    for start, end in parts.days:
        rows.extend(session.execute(_grouped(replace(scope, start=start, end=end))).all())
    return rows


def cost_summary(session: Session, scope: Scope, *, currency: str = "USD") -> dict[str, Any]:
    """The seed's question: what did this cost, on which models, and can we trust it?"""
    totals = _Totals()
    for row in grouped_rows(session, scope):
        totals.add(row)
    status, last_updated, reasons = coverage_status(session, scope)
    if totals.unconverted and status == "complete":
        status = "partial"
        reasons.append("some amounts could not be converted (missing exchange rate)")
    return {
        "provider": scope.provider.key,
        "workspace": scope.account.name if scope.account else None,
        "project": scope.project.name if scope.project else None,
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
        "currency": currency,
        "total": None if status == "unknown" else _money(totals.total),
        "status": status,
        "reasons": reasons,
        "breakdown": totals.breakdown(),
        "by_provenance": {name: _money(totals.by_provenance.get(name, Decimal(0))) for name in COUNTED},
        "estimated_not_counted": _money(totals.shadow),
        "unpriced_lines": totals.unpriced,
        "last_updated": as_utc(last_updated).isoformat() if last_updated else None,
    }


class _Totals:
    def __init__(self) -> None:
        self.total = Decimal(0)
        self.shadow = Decimal(0)
        self.by_provenance: dict[str, Decimal] = defaultdict(Decimal)
        self.models: dict[str, dict[str, Any]] = {}
        self.unpriced = 0
        self.unconverted = 0

    def add(self, row: Any) -> None:
        model = self.models.setdefault(
            row.model,
            {
                "model": row.model,
                "amount": None,
                "requests": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "provenance": set(),
            },
        )
        for name in ("requests", "input_tokens", "output_tokens"):
            model[name] += int(getattr(row, name) or 0)  # PostgreSQL sums BIGINT as NUMERIC
        model["provenance"].add(row.provenance)
        if row.provenance == Provenance.UNPRICED.value:
            self.unpriced += row.lines
            return
        self.unconverted += row.priced - row.converted
        amount = row.amount if row.amount is not None else Decimal(0)
        if not row.in_total:
            self.shadow += amount
            model["estimate_not_counted"] = model.get("estimate_not_counted", Decimal(0)) + amount
            return
        self.total += amount
        self.by_provenance[row.provenance] += amount
        model["amount"] = (model["amount"] or Decimal(0)) + amount

    def breakdown(self) -> list[dict[str, Any]]:
        items = []
        for model in self.models.values():
            item = {**model, "amount": _money(model["amount"]), "provenance": sorted(model["provenance"])}
            if "estimate_not_counted" in model:
                item["estimate_not_counted"] = _money(model["estimate_not_counted"])
            items.append(item)
        return sorted(items, key=lambda i: (i["amount"] is None, -Decimal(i["amount"] or 0), i["model"]))


def _money(value: Decimal | None) -> str | None:
    """Exact, in its shortest form (``4`` not ``4.0``), however the sum was split."""
    return None if value is None else format(plain(value), "f")


def credentials_of(session: Session, scope: Scope) -> set[str]:
    """The credentials (keys) whose collections cover this scope."""
    if scope.account is not None:
        return {str(scope.account.meta.get("credential", scope.account.external_id))}
    accounts = session.scalars(select(Account).where(Account.provider_id == scope.provider.id)).all()
    names = {str(a.meta.get("credential")) for a in accounts if a.meta.get("credential")}
    names |= set(
        session.scalars(
            select(Coverage.credential).distinct().where(Coverage.provider_key == scope.provider.key)
        )
    )
    return names


def coverage_status(session: Session, scope: Scope) -> tuple[str, datetime | None, list[str]]:
    """complete / partial / unknown for the scope's days (days after today are not expected yet)."""
    last_day = min(scope.end, today())
    expected_days = (last_day - scope.start).days + 1 if last_day >= scope.start else 0
    credentials = credentials_of(session, scope)
    groups = session.execute(
        select(
            Coverage.credential,
            Coverage.status,
            Coverage.reason,
            func.count().label("days"),
            func.max(Coverage.collected_at).label("collected_at"),
        )
        .where(
            Coverage.provider_key == scope.provider.key,
            Coverage.credential.in_(credentials) if credentials else false(),
            Coverage.day >= scope.start,
            Coverage.day <= last_day,
        )
        .group_by(Coverage.credential, Coverage.status, Coverage.reason)
    ).all()
    return judge_coverage(groups, expected_days, len(credentials))


def judge_coverage(
    groups: Sequence[Any], expected_days: int, credentials: int
) -> tuple[str, datetime | None, list[str]]:
    """The status from coverage rows grouped by credential, status and reason (``days``, ``collected_at``)."""
    if not groups or expected_days == 0:
        return "unknown", None, ["never collected for this period"] if expected_days else []
    reasons = sorted(
        {f"{g.credential}: {g.reason}" for g in groups if g.status != Outcome.SUCCESS.value and g.reason}
    )
    missing = expected_days * credentials - sum(int(g.days) for g in groups)
    if missing > 0:
        reasons.append(f"{missing} day(s) never collected")
    bad = any(g.status != Outcome.SUCCESS.value for g in groups)
    successes = [g.collected_at for g in groups if g.status == Outcome.SUCCESS.value]
    last = max(successes) if successes else None
    return ("partial" if bad or missing > 0 else "complete"), last, reasons
