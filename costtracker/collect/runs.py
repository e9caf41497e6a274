"""Runs are data: each collection is stored with its trigger, period, outcomes and log lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from costtracker.clock import utcnow
from costtracker.errors import NotFound
from costtracker.sources.base import Period
from costtracker.store.models import CollectionRun, Outcome, RunLog, RunOutcome

FAILING = {Outcome.FAILED.value, Outcome.PARTIAL.value}


@dataclass
class OutcomeRecord:
    provider: str
    account: str | None
    status: Outcome
    reason: str | None = None
    lines: int = 0
    amount: Decimal | None = None
    requests: int = 0
    duration_ms: int = 0


def create_run(sessions: sessionmaker[Session], *, trigger: str, period: Period, providers: list[str]) -> int:
    with sessions.begin() as session:
        run = CollectionRun(
            trigger=trigger,
            period_start=period.start,
            period_end=period.end,
            providers=providers,
            status=Outcome.RUNNING.value,
        )
        session.add(run)
        session.flush()
        return run.id


def add_log(
    session: Session, run_id: int, message: str, *, level: str = "info", provider: str | None = None
) -> None:
    session.add(RunLog(run_id=run_id, message=message, level=level, provider_key=provider))


def add_outcome(session: Session, run_id: int, outcome: OutcomeRecord, account_name: str | None) -> None:
    session.add(
        RunOutcome(
            run_id=run_id,
            provider_key=outcome.provider,
            account_external_id=outcome.account,
            account_name=account_name,
            status=outcome.status.value,
            reason=outcome.reason,
            lines=outcome.lines,
            amount_usd=outcome.amount,
            requests_made=outcome.requests,
            duration_ms=outcome.duration_ms,
            finished_at=utcnow(),
        )
    )


def overall_status(statuses: list[str]) -> Outcome:
    """A run succeeded when nothing it tried failed; unavailable or skipped sources do not fail it."""
    tried = [s for s in statuses if s not in (Outcome.SKIPPED.value, Outcome.UNAVAILABLE.value)]
    if tried and all(s == Outcome.FAILED.value for s in tried):
        return Outcome.FAILED
    if any(s in FAILING for s in tried):
        return Outcome.PARTIAL
    return Outcome.SUCCESS


def finish_run(sessions: sessionmaker[Session], run_id: int, *, error: str | None = None) -> Outcome:
    with sessions.begin() as session:
        run = session.get(CollectionRun, run_id, options=[selectinload(CollectionRun.outcomes)])
        if run is None:
            raise NotFound(f"run {run_id} does not exist")
        status = Outcome.FAILED if error else overall_status([o.status for o in run.outcomes])
        run.status, run.error, run.finished_at = status.value, error, utcnow()
        run.lines_written = sum(o.lines for o in run.outcomes)
        return status


def mark_interrupted(sessions: sessionmaker[Session], run_id: int) -> None:
    """A run whose process died is failed, with that reason, so it does not look 'running' forever."""
    with sessions.begin() as session:
        session.execute(
            update(CollectionRun)
            .where(CollectionRun.id == run_id, CollectionRun.status == Outcome.RUNNING.value)
            .values(
                status=Outcome.FAILED.value,
                finished_at=utcnow(),
                error="interrupted: the process running it stopped before it finished",
            )
        )


def get_run(session: Session, run_id: int) -> CollectionRun:
    run = session.get(
        CollectionRun,
        run_id,
        options=[selectinload(CollectionRun.outcomes), selectinload(CollectionRun.logs)],
    )
    if run is None:
        raise NotFound(f"run {run_id} does not exist")
    return run


def list_runs(session: Session, *, limit: int = 20) -> list[CollectionRun]:
    query = (
        select(CollectionRun)
        .order_by(CollectionRun.id.desc())
        .limit(limit)
        .options(selectinload(CollectionRun.outcomes))
    )
    return list(session.scalars(query))


def run_to_dict(run: CollectionRun, *, with_logs: bool = True) -> dict[str, Any]:
    """The JSON shape of a run (amounts as decimal strings)."""
    body: dict[str, Any] = {
        "id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "period": {"start": run.period_start.isoformat(), "end": run.period_end.isoformat()},
        "providers": run.providers,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "lines_written": run.lines_written,
        "error": run.error,
        "outcomes": [
            {
                "provider": o.provider_key,
                "account": o.account_name or o.account_external_id,
                "status": o.status,
                "reason": o.reason,
                "lines": o.lines,
                "amount": str(o.amount_usd) if o.amount_usd is not None else None,
                "requests": o.requests_made,
                "duration_ms": o.duration_ms,
            }
            for o in run.outcomes
        ],
    }
    if with_logs:
        body["log"] = [
            {
                "at": line.at.isoformat(),
                "level": line.level,
                "provider": line.provider_key,
                "message": line.message,
            }
            for line in run.logs
        ]
    return body
