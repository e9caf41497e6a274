"""Reading the ledger: the answers the CLI, the API and the pages share.

The total counts billed money first, estimates only where nothing is billed (sources mark an
estimate that shadows billed money ``in_total = False``), manual entries, and never an unpriced
line: those are counted apart. Whether the numbers can be trusted is said by ``status``, from
the coverage the engine records day by day: ``complete``, ``partial`` (some collection failed
or some days were never collected) or ``unknown`` (never collected: the total is then null, not 0).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from costtracker.clock import today
from costtracker.errors import InvalidInput
from costtracker.store.models import Account, CostLine, Coverage, Outcome, Project, Provenance, Provider

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


MODEL_KEY = func.coalesce(func.nullif(CostLine.model, ""), func.nullif(CostLine.line_item, ""), "(other)")


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


def cost_summary(session: Session, scope: Scope, *, currency: str = "USD") -> dict[str, Any]:
    """The seed's question: what did this cost, on which models, and can we trust it?"""
    rows = session.execute(_grouped(scope)).all()
    totals = _Totals()
    for row in rows:
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
        "last_updated": last_updated.isoformat() if last_updated else None,
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
    return None if value is None else format(value, "f")


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
    rows = session.execute(
        select(Coverage.credential, Coverage.status, Coverage.reason, Coverage.collected_at).where(
            Coverage.provider_key == scope.provider.key,
            Coverage.credential.in_(credentials) if credentials else false(),
            Coverage.day >= scope.start,
            Coverage.day <= last_day,
        )
    ).all()
    if not rows or expected_days == 0:
        return "unknown", None, ["never collected for this period"] if expected_days else []
    reasons = sorted(
        {f"{r.credential}: {r.reason}" for r in rows if r.status != Outcome.SUCCESS.value and r.reason}
    )
    missing = expected_days * len(credentials) - len(rows)
    if missing > 0:
        reasons.append(f"{missing} day(s) never collected")
    bad = any(r.status != Outcome.SUCCESS.value for r in rows)
    successes = [r.collected_at for r in rows if r.status == Outcome.SUCCESS.value]
    last = max(successes) if successes else None
    return ("partial" if bad or missing > 0 else "complete"), last, reasons
