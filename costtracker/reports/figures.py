"""One provider's month read from the ledger: total, status, models, projects, usage items.

The provider's total and per-model view come from :func:`costtracker.store.queries.cost_summary`
(the same numbers as ``costtracker costs``); this module adds what the report needs beyond
it: the month per workspace and project (the seed's Notion "Usages" rows) and the usage
quantities per model that the drivers weigh.

Usage quantities are summed over every line of a model, estimates that shadow billed money
included: that is where OpenAI and Anthropic report tokens, while their billed lines carry
only money. Costs count only what totals count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from costtracker.reports.drivers import ItemKey, Usage
from costtracker.reports.model import ModelLine, ProjectReport
from costtracker.reports.status import MonthStatus, month_status
from costtracker.sources.base import Period
from costtracker.store.models import Account, CostLine, Project, Provider
from costtracker.store.queries import COUNTED, MODEL_KEY, Scope, cost_summary

ZERO = Decimal(0)


@dataclass
class Tally:
    """A model's (or a project's) month: counted amount (None until a counted line) and usage."""

    amount: Decimal | None = None
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    provenance: set[str] = field(default_factory=set)
    unconverted: bool = False  # some amount has no rate to the reporting currency: unknown

    def add(self, row: Any) -> None:
        # int(): PostgreSQL sums BIGINT as NUMERIC
        self.requests += int(row.requests or 0)
        self.input_tokens += int(row.input_tokens or 0)
        self.output_tokens += int(row.output_tokens or 0)
        self.characters += int(row.characters or 0)
        self.provenance.add(row.provenance)
        if row.in_total and row.provenance in COUNTED:
            self.amount = (self.amount or ZERO) + (row.amount or ZERO)
            self.unconverted = self.unconverted or row.converted < row.priced

    def line(self, model: str, previous: Decimal | None = None) -> ModelLine:
        amount = None if self.unconverted else self.amount
        return ModelLine(
            model=model,
            amount=amount,
            previous=previous,
            requests=self.requests,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            provenance=sorted(self.provenance),
        )


@dataclass
class ProviderMonth:
    provider: Provider
    period: Period
    status: MonthStatus
    summary: dict[str, Any]
    items: dict[ItemKey, Usage]
    projects: list[ProjectReport]
    models: dict[str, Tally] = field(default_factory=dict)
    lines: int = 0
    unconverted: bool = False  # priced lines, none of them in the reporting currency

    @property
    def total(self) -> Decimal | None:
        """The month's counted amount; None when it is not known (failed, never collected, a
        partial month without a single line, or amounts that could not be converted at all)."""
        if not self.status.known or self.summary["total"] is None or self.unconverted:
            return None
        if self.status.status != "success" and self.lines == 0:
            return None
        return Decimal(self.summary["total"])

    def model_lines(self, previous: ProviderMonth | None = None) -> list[ModelLine]:
        """Every model of the month, the most expensive first (unknown amounts last)."""
        earlier = previous.models if previous is not None else {}
        lines = [
            tally.line(model, earlier[model].line(model).amount if model in earlier else None)
            for model, tally in self.models.items()
        ]
        return sorted(lines, key=lambda m: (m.amount is None, -(m.amount or ZERO), m.model))

    def project_totals(self) -> dict[tuple[str, str], Decimal | None]:
        return {(p.workspace or "", p.project_id): p.total for p in self.projects}


def read_month(
    session: Session,
    provider: Provider,
    period: Period,
    *,
    currency: str,
    previous: ProviderMonth | None = None,
) -> ProviderMonth:
    """Everything the report says about ``provider`` over ``period``."""
    scope = Scope(provider, None, None, period.start, period.end)
    summary = cost_summary(session, scope, currency=currency)
    status = month_status(session, scope)
    if status.status == "success" and summary["status"] == "partial":  # e.g. no exchange rate
        status = MonthStatus("partial", "; ".join(summary["reasons"]), status.collected_at, status.log)
    rows = _rows(session, provider, period)
    items = _items(session, provider, period, rows)
    earlier = previous.project_totals() if previous else {}
    projects = _projects(session, provider, period, rows, earlier)
    counted = [row for row in rows if row.in_total and row.provenance in COUNTED]
    unconverted = sum(r.priced for r in counted) > 0 and sum(r.converted for r in counted) == 0
    models: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        models[row.model].add(row)
    return ProviderMonth(
        provider,
        period,
        status,
        summary,
        items,
        projects,
        models=dict(models),
        lines=sum(row.lines for row in rows),
        unconverted=unconverted,
    )


def _rows(session: Session, provider: Provider, period: Period) -> list[Any]:
    query = (
        select(
            CostLine.account_id,
            CostLine.project_id,
            MODEL_KEY.label("model"),
            CostLine.provenance,
            CostLine.in_total,
            func.sum(CostLine.amount_usd).label("amount"),
            func.sum(CostLine.requests).label("requests"),
            func.sum(CostLine.input_tokens).label("input_tokens"),
            func.sum(CostLine.output_tokens).label("output_tokens"),
            func.sum(CostLine.characters).label("characters"),
            func.count().label("lines"),
            func.count(CostLine.amount).label("priced"),
            func.count(CostLine.amount_usd).label("converted"),
        )
        .where(CostLine.provider_id == provider.id, CostLine.day >= period.start, CostLine.day <= period.end)
        .group_by(CostLine.account_id, CostLine.project_id, MODEL_KEY, CostLine.provenance, CostLine.in_total)
    )
    return list(session.execute(query).all())


def _items(session: Session, provider: Provider, period: Period, rows: list[Any]) -> dict[ItemKey, Usage]:
    items: dict[ItemKey, Usage] = defaultdict(Usage)
    for row in rows:
        usage = items[(provider.key, row.model)]
        if row.in_total and row.provenance in COUNTED:
            usage.cost += row.amount or ZERO
        for unit, value in (
            ("tokens", (row.input_tokens or 0) + (row.output_tokens or 0)),
            ("requests", row.requests or 0),
            ("characters", row.characters or 0),
        ):
            usage.quantities[unit] = usage.quantities.get(unit, ZERO) + Decimal(value)
    # audio seconds are exact decimals stored as text on SQLite: added here, never by SQL
    seconds = session.execute(
        select(MODEL_KEY, CostLine.audio_seconds).where(
            CostLine.provider_id == provider.id,
            CostLine.day >= period.start,
            CostLine.day <= period.end,
            CostLine.audio_seconds.is_not(None),
        )
    )
    for model, value in seconds:
        usage = items[(provider.key, model)]
        usage.quantities["audio_seconds"] = usage.quantities.get("audio_seconds", ZERO) + value
    return dict(items)


def _projects(
    session: Session,
    provider: Provider,
    period: Period,
    rows: list[Any],
    earlier: dict[tuple[str, str], Decimal | None],
) -> list[ProjectReport]:
    by_project: dict[tuple[int, int | None], dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for row in rows:
        by_project[(row.account_id, row.project_id)][row.model].add(row)
    accounts = session.scalars(
        select(Account).where(Account.provider_id == provider.id).order_by(Account.name)
    ).all()
    named = {
        p.id: p
        for p in session.scalars(select(Project).join(Account).where(Account.provider_id == provider.id))
    }
    many = len(accounts) > 1 or any(a.external_id != "default" for a in accounts)
    reports: list[ProjectReport] = []
    for account in accounts:
        workspace = account.name if many else None
        status = month_status(
            session,
            Scope(provider, account, None, period.start, period.end),
            credential=str(account.meta.get("credential", account.external_id)),
        )
        keys = [key for key in by_project if key[0] == account.id]
        seen = {_project_id(named, key[1]) for key in keys}
        gone = [
            project_id
            for (where, project_id), total in earlier.items()
            if where == (workspace or "") and project_id not in seen and total
        ]
        if not status.known:
            if keys or gone or status.status == "failed":
                reports.append(_unknown_row(workspace, status))
            continue
        for key in keys:
            project = named.get(key[1]) if key[1] is not None else None
            reports.append(_row(workspace, project, by_project[key], status, earlier))
        reports.extend(_gone_row(workspace, project_id, named, status, earlier) for project_id in gone)
    return sorted(reports, key=lambda r: (r.workspace or "", -(r.total or ZERO), r.project))


def _project_id(named: dict[int, Project], project_id: int | None) -> str:
    project = named.get(project_id) if project_id is not None else None
    return project.external_id if project is not None else ""


def _row(
    workspace: str | None,
    project: Project | None,
    models: dict[str, Tally],
    status: MonthStatus,
    earlier: dict[tuple[str, str], Decimal | None],
) -> ProjectReport:
    project_id = project.external_id if project else ""
    amounts = [t.amount for t in models.values() if t.amount is not None]
    unknown = any(t.unconverted for t in models.values())
    lines = sorted(
        (tally.line(model) for model, tally in models.items()),
        key=lambda m: (m.amount is None, -(m.amount or ZERO), m.model),
    )
    return ProjectReport(
        workspace=workspace,
        project=project.name if project else "",
        project_id=project_id,
        total=None if unknown else sum(amounts, ZERO),
        previous=earlier.get((workspace or "", project_id)),
        models=[m.model for m in lines],
        input_tokens=sum(t.input_tokens for t in models.values()),
        output_tokens=sum(t.output_tokens for t in models.values()),
        requests=sum(t.requests for t in models.values()),
        breakdown=lines,
        status=status.status,
        log=status.log,
        collected_at=status.collected_at,
    )


def _gone_row(
    workspace: str | None,
    project_id: str,
    named: dict[int, Project],
    status: MonthStatus,
    earlier: dict[tuple[str, str], Decimal | None],
) -> ProjectReport:
    """A project that cost something last month and nothing this month (known: zero)."""
    name = next((p.name for p in named.values() if p.external_id == project_id), project_id)
    return ProjectReport(
        workspace=workspace,
        project=name,
        project_id=project_id,
        total=ZERO,
        previous=earlier.get((workspace or "", project_id)),
        models=[],
        input_tokens=0,
        output_tokens=0,
        requests=0,
        breakdown=[],
        status=status.status,
        log=status.log,
        collected_at=status.collected_at,
    )


def _unknown_row(workspace: str | None, status: MonthStatus) -> ProjectReport:
    """A workspace whose month is not known: one row saying so, with no amount (never 0)."""
    return ProjectReport(
        workspace=workspace,
        project="",
        project_id="",
        total=None,
        previous=None,
        models=[],
        input_tokens=0,
        output_tokens=0,
        requests=0,
        breakdown=[],
        status=status.status,
        log=status.log,
        collected_at=status.collected_at,
    )
