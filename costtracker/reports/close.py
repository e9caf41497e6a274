"""Closing a month: collect it, freeze its report, deliver it (e-mail, Notion).

The frozen report (``ReportSnapshot``) is what the page, the PDF, the e-mail and Notion show
for a closed month, so they all agree and stay the same; closing again (``reclose``) collects
again and replaces it. Without ``reclose``, closing a closed month only delivers what was not
delivered yet: the e-mail functions of :mod:`costtracker.notify` never send a month twice
(unless ``resend``), so the monthly schedule, a cron line and a person may all close a month.

Only a month that is over can be closed. Delivery problems do not undo the close: they are
returned, logged on the collection run (the run's log is the panel's "Log Status") and shown
by the CLI with a non-zero exit.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from costtracker.clock import as_utc, today, utcnow
from costtracker.collect.engine import CollectionEngine, RunResult
from costtracker.collect.runs import add_log
from costtracker.errors import CostTrackerError, InvalidInput
from costtracker.http import redact
from costtracker.logs import secret_values
from costtracker.periods import parse_month
from costtracker.reports.model import MonthlyReport
from costtracker.reports.monthly import build_report
from costtracker.settings import Settings
from costtracker.sources.base import Period
from costtracker.store.models import Outcome, ReportSnapshot

log = logging.getLogger(__name__)


@dataclass
class CloseResult:
    month: str
    report: MonthlyReport
    run_id: int | None  # the collection behind the snapshot
    run_status: str | None  # how this close's collection went; None when nothing was collected now
    frozen: bool  # a snapshot was written now (False: the existing one was kept)
    delivered: list[str] = field(default_factory=list)  # what went out, in words
    undelivered: list[str] = field(default_factory=list)  # what could not go out, in words
    collection_problem: str | None = None

    @property
    def problems(self) -> list[str]:
        return ([self.collection_problem] if self.collection_problem else []) + self.undelivered

    @property
    def ok(self) -> bool:
        return not self.problems


def delivery_configured(settings: Settings) -> tuple[bool, bool]:
    """Whether e-mail and Notion are configured (what the scheduled close delivers)."""
    email = bool(settings.report_email_to) and bool(
        (settings.resend_api_key and settings.resend_api_key.get_secret_value()) or settings.smtp_host
    )
    notion = bool(settings.notion_api_key and settings.notion_api_key.get_secret_value()) and bool(
        settings.notion_usages_db_id or settings.notion_services_db_id
    )
    return email, notion


def closable_month(month: str) -> Period:
    """The period of ``month``, refused while the month is not over."""
    period = parse_month(month)
    if period.end >= today():
        first = period.end + timedelta(days=1)
        raise InvalidInput("month", f"{month} is not over yet; it can be closed from {first}")
    return period


async def close_month(
    settings: Settings,
    sessions: sessionmaker[Session],
    month: str,
    *,
    send: bool = False,
    notion: bool = False,
    resend: bool = False,
    reclose: bool = False,
    collect: bool = True,
    trigger: str = "cli",
    engine: CollectionEngine | None = None,
    run_id: int | None = None,
) -> CloseResult:
    """Close ``month``: collect (unless ``collect=False`` or already closed), freeze, deliver.

    ``run_id`` names a collection that just ran (``POST /api/collect?send_email=true``), so the
    snapshot points at it without collecting a second time.
    """
    period = closable_month(month)
    kept = None if reclose else await asyncio.to_thread(load_snapshot, sessions, month)
    if kept is not None:
        report, snapshot_run = kept
        result = CloseResult(month, report, snapshot_run, None, frozen=False)
    else:
        status = None
        if collect:
            collected = await (engine or CollectionEngine(settings, sessions)).run(period, trigger=trigger)
            run_id, status = collected.run_id, collected.status.value
        report = await asyncio.to_thread(_build_and_freeze, settings, sessions, month, run_id)
        result = CloseResult(month, report, run_id, status, frozen=True)
        if status not in (None, Outcome.SUCCESS.value):
            result.collection_problem = (
                f"the collection of {month} ended {status} (run #{run_id}); "
                "the report shows which providers are affected"
            )
    await deliver(settings, sessions, result, send=send or resend, notion=notion, resend=resend)
    return result


async def close_after(
    settings: Settings,
    sessions: sessionmaker[Session],
    month: str,
    collection: Awaitable[RunResult],
    *,
    send: bool = True,
    notion: bool = False,
) -> CloseResult:
    """Wait for a collection that was started elsewhere, then close its month on top of it."""
    collected = await collection
    result = await close_month(
        settings,
        sessions,
        month,
        send=send,
        notion=notion,
        reclose=True,
        collect=False,
        run_id=collected.run_id,
    )
    result.run_status = collected.status.value
    return result


# --- snapshots --------------------------------------------------------------------------------


def load_snapshot(sessions: sessionmaker[Session], month: str) -> tuple[MonthlyReport, int | None] | None:
    with sessions() as session:
        snapshot = session.scalar(select(ReportSnapshot).where(ReportSnapshot.month == month))
        return None if snapshot is None else (snapshot_report(snapshot), snapshot.run_id)


def snapshot_report(snapshot: ReportSnapshot) -> MonthlyReport:
    report = MonthlyReport.from_dict(snapshot.data)
    report.closed, report.closed_at = True, as_utc(snapshot.closed_at)
    return report


def report_for(session: Session, month: str, *, currency: str) -> MonthlyReport:
    """The frozen report of a closed month, else the report as the ledger says it now."""
    snapshot = session.scalar(select(ReportSnapshot).where(ReportSnapshot.month == month))
    if snapshot is not None:
        return snapshot_report(snapshot)
    return build_report(session, month, currency=currency)


def freeze(session: Session, report: MonthlyReport, run_id: int | None) -> None:
    """Store ``report`` as the month's snapshot, replacing an earlier one. The caller commits."""
    report.closed, report.closed_at = True, utcnow()
    snapshot = session.scalar(select(ReportSnapshot).where(ReportSnapshot.month == report.month))
    if snapshot is None:
        snapshot = ReportSnapshot(month=report.month)
        session.add(snapshot)
    snapshot.closed_at, snapshot.run_id, snapshot.data = report.closed_at, run_id, report.to_dict()


def _build_and_freeze(
    settings: Settings, sessions: sessionmaker[Session], month: str, run_id: int | None
) -> MonthlyReport:
    for attempt in (1, 2):  # two processes closing at once: the second updates the first's row
        try:
            with sessions.begin() as session:
                report = build_report(session, month, currency=settings.reporting_currency)
                freeze(session, report, run_id)
            return report
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- delivery --------------------------------------------------------------------------------


async def deliver(
    settings: Settings,
    sessions: sessionmaker[Session],
    result: CloseResult,
    *,
    send: bool,
    notion: bool,
    resend: bool,
) -> None:
    """E-mail and Notion through :mod:`costtracker.notify`, each failure kept as a problem."""
    if send:
        await _channel(
            settings,
            sessions,
            result,
            "e-mail",
            "costtracker.notify.email",
            "send_report",
            lambda f: f(settings, sessions, result.report, resend=resend),
            _describe_emails,
        )
    if notion:
        await _channel(
            settings,
            sessions,
            result,
            "Notion",
            "costtracker.notify.notion",
            "sync_report",
            lambda f: f(settings, sessions, result.report),
            _describe_sync,
        )


async def _channel(
    settings: Settings,
    sessions: sessionmaker[Session],
    result: CloseResult,
    name: str,
    module: str,
    function: str,
    call: Callable[[Any], Any],
    describe: Callable[[Any], tuple[list[str], list[str]]],
) -> None:
    try:
        target = getattr(importlib.import_module(module), function)
        answer = await asyncio.to_thread(call, target)
        if inspect.isawaitable(answer):
            answer = await answer
        done, failed = describe(answer)
    except (ImportError, AttributeError):
        done, failed = [], [f"{name}: this installation cannot deliver by {name} ({module} is missing)"]
    except CostTrackerError as exc:
        done, failed = [], [f"{name}: {exc.message}"]
    except Exception as exc:  # a delivery bug must not lose the close: say it, keep going
        log.exception("%s delivery of %s failed", name, result.month)
        done, failed = [], [f"{name}: unexpected error ({type(exc).__name__})"]
    secrets = secret_values(settings)
    result.delivered += [redact(line, secrets) for line in done]
    result.undelivered += [redact(line, secrets) for line in failed]
    await asyncio.to_thread(_log_on_run, sessions, result.run_id, done, failed, secrets)


def _describe_emails(results: Any) -> tuple[list[str], list[str]]:
    done: list[str] = []
    failed: list[str] = []
    for item in results:
        line = f"e-mail to {item.recipient} ({item.channel}): {item.status}"
        line += f" — {item.reason}" if getattr(item, "reason", None) else ""
        (failed if item.status == "failed" else done).append(line)
    return done, failed


def _describe_sync(answer: Any) -> tuple[list[str], list[str]]:
    errors = [f"Notion: {error}" for error in (getattr(answer, "errors", None) or [])]
    summary = getattr(answer, "summary", None)
    text = summary() if callable(summary) else summary
    return [f"Notion: {text or 'synchronised'}"], errors


def _log_on_run(
    sessions: sessionmaker[Session],
    run_id: int | None,
    done: list[str],
    failed: list[str],
    secrets: list[str],
) -> None:
    for line in failed:
        log.warning("delivery problem: %s", redact(line, secrets))
    if run_id is None:
        return
    with sessions.begin() as session:
        for line in done:
            add_log(session, run_id, redact(line, secrets))
        for line in failed:
            add_log(session, run_id, redact(line, secrets), level="error")
