"""One provider's month read from the ledger: total, status, models, projects, usage items.

The provider's total comes from :func:`costtracker.store.queries.cost_summary` (the same
number as ``costtracker costs``); this module adds what the report needs beyond it: the
models with their usage, the month per workspace and project (:mod:`.projects`) and the usage
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
from costtracker.reports.projects import Tally, project_rows
from costtracker.reports.status import MonthStatus, month_status
from costtracker.sources.base import Period
from costtracker.store.models import CostLine, Provider
from costtracker.store.queries import COUNTED, MODEL_KEY, Scope, cost_summary

ZERO = Decimal(0)


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
    unpriced_lines: int = 0  # usage with no known price that no billed line covers either

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
    projects = project_rows(session, provider, period, rows, earlier)
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
        unpriced_lines=sum(row.lines for row in rows if row.in_total and row.provenance == "unpriced"),
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
