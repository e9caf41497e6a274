"""Recurring jobs that run once each, however many processes run the scheduler.

APScheduler parses the cron expressions and wakes every process up regularly; the *claim* of a
due job is a conditional UPDATE in the database (``... WHERE name = :n AND next_run_at = :seen``):
only the process whose update changes a row runs the job, on SQLite and PostgreSQL alike.
So ``costtracker serve`` and any number of ``costtracker worker`` may run side by side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from costtracker.clock import utcnow
from costtracker.collect.engine import CollectionEngine, interrupted_runs_cleanup
from costtracker.errors import ConfigError
from costtracker.periods import month_to_date, previous_month
from costtracker.settings import Settings
from costtracker.store.models import ScheduledJob

log = logging.getLogger(__name__)

JobFunction = Callable[[Settings, sessionmaker[Session]], Awaitable[None]]


async def collect_month_to_date(settings: Settings, sessions: sessionmaker[Session]) -> None:
    await CollectionEngine(settings, sessions).run(month_to_date(), trigger="schedule")


async def close_previous_month(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Close the month that just ended: collect it, freeze its report, e-mail it and sync Notion
    (each when configured). A delivery problem fails the job with its reason (also on the run)."""
    from costtracker.reports.close import close_month, delivery_configured

    month = f"{previous_month().start:%Y-%m}"
    send, notion = delivery_configured(settings)
    result = await close_month(settings, sessions, month, send=send, notion=notion, trigger="schedule")
    if result.undelivered:
        raise RuntimeError("; ".join(result.undelivered))


@dataclass(frozen=True)
class Job:
    name: str
    cron: str
    function: JobFunction


def configured_jobs(settings: Settings) -> list[Job]:
    return [
        Job("collect-daily", settings.schedule_collect_cron, collect_month_to_date),
        Job("close-monthly", settings.schedule_close_cron, close_previous_month),
    ]


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    try:
        trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
    except ValueError as exc:
        raise ConfigError(
            "COSTTRACKER_SCHEDULE_*_CRON", f"{cron!r} is not a cron expression ({exc})"
        ) from None
    fire: datetime | None = trigger.get_next_fire_time(None, after)
    if fire is None:
        raise ConfigError("COSTTRACKER_SCHEDULE_*_CRON", f"{cron!r} never fires")
    return fire.astimezone(UTC)


def sync_jobs(sessions: sessionmaker[Session], jobs: list[Job], timezone: str) -> None:
    """Create the job rows, or reschedule one whose cron expression changed."""
    now = utcnow()
    with sessions.begin() as session:
        existing = {job.name: job for job in session.scalars(select(ScheduledJob))}
        for job in jobs:
            row = existing.get(job.name)
            if row is None:
                session.add(
                    ScheduledJob(name=job.name, cron=job.cron, next_run_at=next_fire(job.cron, timezone, now))
                )
            elif row.cron != job.cron:
                row.cron, row.next_run_at = job.cron, next_fire(job.cron, timezone, now)


def claim_due(sessions: sessionmaker[Session], jobs: list[Job], timezone: str, holder: str) -> list[Job]:
    """The due jobs this process won. A job is won by exactly one process per due time."""
    now = utcnow()
    won = []
    by_name = {job.name: job for job in jobs}
    with sessions() as session:
        due = session.execute(
            select(ScheduledJob.name, ScheduledJob.next_run_at).where(ScheduledJob.next_run_at <= now)
        ).all()
    for name, seen in due:
        if name not in by_name:
            continue
        with sessions.begin() as session:
            result = session.execute(
                update(ScheduledJob)
                .where(ScheduledJob.name == name, ScheduledJob.next_run_at == seen)
                .values(
                    next_run_at=next_fire(by_name[name].cron, timezone, now),
                    claimed_by=holder,
                    last_run_at=now,
                    runs=ScheduledJob.runs + 1,
                )
            )
        if getattr(result, "rowcount", 0) == 1:
            won.append(by_name[name])
    return won


def record_result(sessions: sessionmaker[Session], name: str, error: str | None) -> None:
    with sessions.begin() as session:
        session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.name == name)
            .values(last_status="failed" if error else "success", last_error=error)
        )


class Scheduler:
    """Wakes up every ``tick_seconds``, claims due jobs and runs the ones it won."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        holder: str,
        jobs: list[Job] | None = None,
        tick_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.holder = holder
        self.jobs = jobs if jobs is not None else configured_jobs(settings)
        self.tick_seconds = tick_seconds
        self._scheduler: AsyncIOScheduler | None = None

    async def tick(self) -> list[str]:
        """One round: claim and run what is due. Returns the names of the jobs run."""
        await asyncio.to_thread(interrupted_runs_cleanup, self.sessions)
        won = await asyncio.to_thread(
            claim_due, self.sessions, self.jobs, self.settings.timezone, self.holder
        )
        for job in won:
            log.info("running scheduled job %s", job.name)
            try:
                await job.function(self.settings, self.sessions)
            except Exception as exc:
                log.exception("scheduled job %s failed", job.name)
                record_result(self.sessions, job.name, f"{type(exc).__name__}: {exc}")
            else:
                record_result(self.sessions, job.name, None)
        return [job.name for job in won]

    def start(self) -> None:
        """Start ticking in the running event loop (APScheduler interval job)."""
        sync_jobs(self.sessions, self.jobs, self.settings.timezone)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
