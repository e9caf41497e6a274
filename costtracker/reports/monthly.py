"""The monthly report, built from the ledger: what the page, e-mail, Notion, PDF and CSV show.

Which providers: every provider with lines, coverage or a (non-skipped) run outcome in the
month or the month before, so one that cost money last month and was not collected this month
shows as unknown instead of vanishing.

The change compares only providers collected *successfully* in both months; the others stay in
the report with their status and the amounts that are known, and are listed in ``excluded``
with the reason, in plain words (unknown is never zero). The grand total adds what is known;
``total_status`` says whether it is complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from costtracker.clock import today, utcnow
from costtracker.errors import InvalidInput
from costtracker.periods import parse_month
from costtracker.reports.drivers import ItemKey, Usage, decompose
from costtracker.reports.figures import ProviderMonth, read_month
from costtracker.reports.model import Drivers, MonthlyReport, ProviderReport, TrendPoint
from costtracker.reports.status import SUCCESS, month_status
from costtracker.sources import SOURCES, load_source
from costtracker.sources.base import Period
from costtracker.store.models import CollectionRun, CostLine, Coverage, Outcome, Provider, RunOutcome
from costtracker.store.queries import Scope, cost_summary

TREND_MONTHS = 6
TOP_MODELS = 5
ZERO = Decimal(0)


def month_of(period: Period) -> str:
    return f"{period.start:%Y-%m}"


def month_before(period: Period) -> Period:
    last = period.start - timedelta(days=1)
    return Period.month(last.year, last.month)


def parse_report_month(month: str) -> Period:
    """A month that has started (the report of a future month would be all unknowns)."""
    period = parse_month(month)
    if period.start > today():
        raise InvalidInput("month", f"{month} has not started yet")
    return period


def build_report(session: Session, month: str, *, currency: str = "USD") -> MonthlyReport:
    """The report of ``month`` (YYYY-MM) as the ledger says it now."""
    period = parse_report_month(month)
    previous = month_before(period)
    providers = relevant_providers(session, period, previous)
    before = {p.key: read_month(session, p, previous, currency=currency) for p in providers}
    now = {
        p.key: read_month(session, p, period, currency=currency, previous=before[p.key]) for p in providers
    }
    compared = [key for key in now if now[key].status.status == SUCCESS == before[key].status.status]
    reports = sorted(
        (provider_report(now[key], before[key], key in compared, currency) for key in now),
        key=lambda r: (r.total is None, -(r.total or ZERO), r.name),
    )
    total, total_status = grand_total(list(now.values()))
    previous_total, _ = grand_total(list(before.values()))
    compared_total = _sum(now[key].total for key in compared) if compared else None
    compared_previous = _sum(before[key].total for key in compared) if compared else None
    change = None
    if compared_total is not None and compared_previous is not None:
        change = compared_total - compared_previous
    trend = [trend_point(session, p, currency) for p in _earlier_months(previous, TREND_MONTHS - 1)]
    trend.append(TrendPoint(month_of(period), total, total_status))
    return MonthlyReport(
        month=month_of(period),
        previous_month=month_of(previous),
        currency=currency,
        total=total,
        previous_total=previous_total,
        change=change,
        change_pct=percent(change, compared_previous),
        active_providers=sum(1 for key in now if _active(now[key])),
        providers=reports,
        drivers=_drivers([now[k] for k in compared], [before[k] for k in compared], currency),
        trend=trend,
        excluded=[exclusion(now[k], before[k]) for k in now if k not in compared],
        generated_at=utcnow(),
        total_status=total_status,
        compared_total=compared_total,
        compared_previous=compared_previous,
    )


def provider_report(
    now: ProviderMonth, before: ProviderMonth, comparable: bool, currency: str
) -> ProviderReport:
    provider = now.provider
    change = None
    if comparable and now.total is not None and before.total is not None:
        change = now.total - before.total
    top = now.model_lines(before)[:TOP_MODELS] if now.status.known else []
    provenance = {
        name: Decimal(value)
        for name, value in now.summary["by_provenance"].items()
        if now.status.known and Decimal(value) != 0
    }
    return ProviderReport(
        key=provider.key,
        name=provider.display_name,
        console_url=provider.console_url,
        status=now.status.status,
        reason=now.status.reason,
        total=now.total,
        previous=before.total,
        change=change,
        change_pct=percent(change, before.total),
        top_models=top,
        provenance=provenance,
        unpriced_lines=now.unpriced_lines,
        projects=now.projects,
        drivers=_drivers([now], [before], currency) if change is not None else None,
        previous_status=before.status.status,
        log=now.status.log,
    )


def relevant_providers(session: Session, *periods: Period) -> list[Provider]:
    """Providers with lines, coverage or a run outcome (not merely "not configured") in the periods."""
    start, end = min(p.start for p in periods), max(p.end for p in periods)
    with_lines = (
        select(Provider.key)
        .join(CostLine, CostLine.provider_id == Provider.id)
        .where(CostLine.day >= start, CostLine.day <= end)
    )
    covered = select(Coverage.provider_key).where(Coverage.day >= start, Coverage.day <= end)
    tried = (
        select(RunOutcome.provider_key)
        .join(CollectionRun)
        .where(
            CollectionRun.period_start <= end,
            CollectionRun.period_end >= start,
            RunOutcome.status != Outcome.SKIPPED.value,
        )
    )
    keys = {key for query in (with_lines, covered, tried) for key in session.scalars(query.distinct())}
    known = {p.key: p for p in session.scalars(select(Provider).where(Provider.key.in_(keys)))}
    return [known.get(key) or _unregistered(key) for key in sorted(keys)]


def _unregistered(key: str) -> Provider:
    """A provider that never wrote a line (e.g. misconfigured), described from its source class."""
    if key in SOURCES:
        source = load_source(key)
        return Provider(key=key, display_name=source.display_name, console_url=source.console_url)
    return Provider(key=key, display_name=key, console_url=None)


def grand_total(months: list[ProviderMonth]) -> tuple[Decimal | None, str]:
    """The sum of the known totals, and whether it is complete / partial / unknown."""
    known = [m.total for m in months if m.total is not None]
    if not known:
        return None, "unknown"
    complete = all(m.status.status == SUCCESS for m in months)
    return _sum(known), "complete" if complete else "partial"


def trend_point(session: Session, period: Period, currency: str) -> TrendPoint:
    """One month of the trend: its known total, and whether every provider is known."""
    totals, statuses = [], []
    for provider in relevant_providers(session, period, month_before(period)):
        scope = Scope(provider, None, None, period.start, period.end)
        status = month_status(session, scope)
        summary = cost_summary(session, scope, currency=currency)
        known = status.known and summary["total"] is not None
        statuses.append(status.status == SUCCESS and summary["status"] == "complete")
        totals.append(Decimal(summary["total"]) if known else None)
    known_totals = [t for t in totals if t is not None]
    if not known_totals:
        return TrendPoint(month_of(period), None, "unknown")
    return TrendPoint(month_of(period), _sum(known_totals), "complete" if all(statuses) else "partial")


def exclusion(now: ProviderMonth, before: ProviderMonth) -> str:
    """Why a provider is left out of the change, in plain words."""
    month = now if now.status.status != SUCCESS else before
    why = f"{month_of(month.period)} {month.status.status}"
    if month.status.reason:
        why += f" ({month.status.reason})"
    return f"{now.provider.display_name} is left out of the change: {why}"


def percent(change: Decimal | None, base: Decimal | None) -> Decimal | None:
    """The change in percent of ``base``, to 0.1; None when there is nothing to compare with."""
    if change is None or base is None or base == 0:
        return None
    return (change * 100 / base).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


def _drivers(now: list[ProviderMonth], before: list[ProviderMonth], currency: str) -> Drivers | None:
    if not now:
        return None
    current: dict[ItemKey, Usage] = {k: v for month in now for k, v in month.items.items()}
    previous: dict[ItemKey, Usage] = {k: v for month in before for k, v in month.items.items()}
    return decompose(current, previous, currency=currency)


def _earlier_months(period: Period, count: int) -> list[Period]:
    months = [period]
    while len(months) < count:
        months.append(month_before(months[-1]))
    return list(reversed(months))


def _active(month: ProviderMonth) -> bool:
    return month.status.known and (bool(month.total) or month.unpriced_lines > 0)


def _sum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), ZERO)
