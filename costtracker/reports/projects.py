"""A provider's month per workspace and project: the seed's Notion "Usages" rows.

A workspace whose month is known gets one row per project with lines this month, plus a row at
zero for a project that cost something last month and nothing now. A workspace whose month is
not known (failed, never collected) gets a single row saying so, with no amount: never zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from costtracker.reports.model import ModelLine, ProjectReport
from costtracker.reports.status import MonthStatus, month_status
from costtracker.sources.base import Period
from costtracker.store.models import Account, Project, Provider
from costtracker.store.queries import COUNTED, Scope

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
        if row.in_total:  # a shadow estimate says nothing about where the amount comes from
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


def project_rows(
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
