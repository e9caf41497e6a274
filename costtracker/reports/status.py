"""How a provider's (or one workspace's) month was collected, in the words of the seed's Notion.

Coverage (day by day, per credential) says whether the month is known: ``complete`` becomes
``success``; ``partial`` becomes ``failed`` when no day of it was collected successfully, else
``partial``; ``unknown`` (no day covered) takes the outcome of the latest run that tried
(``failed``, ``unavailable``: misconfigured, ``skipped``: not configured), else ``unavailable``
with "never collected". The log is what those runs said (the seed's "Log Status").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from costtracker.clock import as_utc
from costtracker.store.models import CollectionRun, Coverage, Outcome, RunOutcome
from costtracker.store.queries import Scope, coverage_status, credentials_of

SUCCESS, PARTIAL, FAILED = Outcome.SUCCESS.value, Outcome.PARTIAL.value, Outcome.FAILED.value
UNAVAILABLE, SKIPPED = Outcome.UNAVAILABLE.value, Outcome.SKIPPED.value
KNOWN = (SUCCESS, PARTIAL)  # statuses whose amounts are (at least partly) known
LOG_LINES = 6


@dataclass(frozen=True)
class MonthStatus:
    status: str  # success | partial | failed | unavailable | skipped
    reason: str | None
    collected_at: datetime | None
    log: str

    @property
    def known(self) -> bool:
        return self.status in KNOWN


def month_status(session: Session, scope: Scope, *, credential: str | None = None) -> MonthStatus:
    """The status of ``scope`` (a provider, or one of its accounts with its ``credential``)."""
    coverage, last, reasons = coverage_status(session, scope)
    outcomes = _latest_outcomes(session, scope, credential)
    log = _log(outcomes, reasons)
    reason = "; ".join(reasons) or None
    last = as_utc(last) if last is not None else None
    if coverage == "complete":
        return MonthStatus(SUCCESS, None, last, log)
    if coverage == "partial":
        status = PARTIAL if _collected_days(session, scope) else FAILED
        return MonthStatus(status, reason, last, log)
    tried = [o for o in outcomes if o.status in (FAILED, UNAVAILABLE, SKIPPED)]
    if tried:
        return MonthStatus(tried[0].status, tried[0].reason or reason, None, log)
    return MonthStatus(UNAVAILABLE, f"never collected for {scope.start:%Y-%m}", None, log)


def _collected_days(session: Session, scope: Scope) -> int:
    """Days of the scope with data (collected completely or partly), failed days aside."""
    credentials = credentials_of(session, scope)
    if not credentials:
        return 0
    found = session.scalar(
        select(func.count())
        .select_from(Coverage)
        .where(
            Coverage.provider_key == scope.provider.key,
            Coverage.credential.in_(credentials),
            Coverage.day >= scope.start,
            Coverage.day <= scope.end,
            Coverage.status.in_(KNOWN),
        )
    )
    return int(found or 0)


def _latest_outcomes(session: Session, scope: Scope, credential: str | None) -> list[RunOutcome]:
    """The newest outcome per credential among the runs that touched the month, newest first."""
    query = (
        select(RunOutcome)
        .join(CollectionRun)
        .where(
            RunOutcome.provider_key == scope.provider.key,
            CollectionRun.period_start <= scope.end,
            CollectionRun.period_end >= scope.start,
        )
        .order_by(RunOutcome.id.desc())
        .limit(50)
    )
    if credential is not None:
        query = query.where(RunOutcome.account_external_id == credential)
    newest: dict[str | None, RunOutcome] = {}
    for outcome in session.scalars(query):
        newest.setdefault(outcome.account_external_id, outcome)
    return list(newest.values())


def _log(outcomes: list[RunOutcome], reasons: list[str]) -> str:
    lines = [describe(outcome) for outcome in outcomes[:LOG_LINES]]
    lines += [reason for reason in reasons if not any(reason in line for line in lines)]
    return "\n".join(lines) or "no collection has covered this month"


def describe(outcome: RunOutcome) -> str:
    """One outcome in a sentence: who, how it went, how much, when and why."""
    who = outcome.account_name or outcome.account_external_id or outcome.provider_key
    text = f"{who}: {outcome.status}"
    if outcome.status in KNOWN:
        text += f", {outcome.lines} lines from {outcome.requests_made} API requests"
    when = f" at {as_utc(outcome.finished_at):%Y-%m-%d %H:%M} UTC" if outcome.finished_at else ""
    text += f" (run #{outcome.run_id}{when})"
    return text + (f" — {outcome.reason}" if outcome.reason else "")
