"""Several real processes: killed mid-run, racing on one period, two workers on one schedule."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from costtracker.clock import utcnow
from costtracker.collect.schedule import configured_jobs, sync_jobs
from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.serve import Served
from costtracker.settings import Settings
from costtracker.store.models import CollectionRun, CostLine, Outcome, ScheduledJob
from tests.collect.conftest import on_loopback
from tests.conftest import Db

pytestmark = pytest.mark.slow
MONTH = "2026-01"


def environment(db: Db, served: list[Served], tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COSTTRACKER_"))}
    env.update(
        {
            "COSTTRACKER_DATABASE_URL": db.url,
            "COSTTRACKER_DATA_DIR": tmp,
            "COSTTRACKER_HTTP_BACKOFF_SECONDS": "0",
            "COSTTRACKER_LOG_LEVEL": "WARNING",
        }
    )
    for item in served:
        env.update(item.environment())
    return env


def collect(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "costtracker", "collect", "--month", MONTH, "--provider", "openai", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ledger(db: Db) -> tuple[int, Decimal]:
    with db.sessions() as session:
        count = session.scalar(select(func.count()).select_from(CostLine)) or 0
        total = session.scalar(select(func.sum(CostLine.amount_usd)).where(CostLine.in_total)) or Decimal(0)
    return count, total


def test_a_killed_collection_leaves_the_previous_data_and_a_rerun_completes_it(
    db: Db, tmp_path: object
) -> None:
    config = EmulatorConfig()
    with on_loopback(["openai"], config) as served:
        env = environment(db, served, str(tmp_path))
        first = collect(env)
        _, errors = first.communicate(timeout=120)
        assert first.returncode == 0, errors
        before = ledger(db)
        config.latency_ms = 150
        stats = served[0].emulator.stats
        requests_before = stats.requests
        victim = collect(env)
        deadline = time.monotonic() + 60
        while stats.requests < requests_before + 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=30)
        assert ledger(db) == before
        config.latency_ms = 0
        rerun = collect(env)
        output, errors = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, errors
        assert json.loads(output)["status"] == "success"
    assert ledger(db) == before
    with db.sessions() as session:
        statuses = session.scalars(select(CollectionRun.status).order_by(CollectionRun.id)).all()
    assert statuses == ["success", "failed", "success"]


def test_two_processes_on_the_same_period_collect_once(db: Db, tmp_path: object) -> None:
    with on_loopback(["openai"], EmulatorConfig(latency_ms=100)) as served:
        env = environment(db, served, str(tmp_path))
        racers = [collect(env), collect(env)]
        results = [json.loads(racer.communicate(timeout=120)[0]) for racer in racers]
    openai_outcomes = [[o["status"] for o in r["outcomes"]] for r in results]
    collected = [statuses for statuses in openai_outcomes if Outcome.SUCCESS.value in statuses]
    skipped = [statuses for statuses in openai_outcomes if statuses == [Outcome.SKIPPED.value]]
    assert len(collected) == 1 and len(skipped) == 1, openai_outcomes
    reason = next(o["reason"] for r in results for o in r["outcomes"] if o["status"] == "skipped")
    assert "already under way" in reason


def test_two_workers_run_each_due_job_once(db: Db, tmp_path: object, make_settings: type[Settings]) -> None:
    settings = make_settings(database_url=db.url)
    jobs = configured_jobs(settings)
    sync_jobs(db.sessions, jobs, settings.timezone)
    with db.sessions.begin() as session:
        session.execute(update(ScheduledJob).values(next_run_at=utcnow() - timedelta(minutes=1)))
    with on_loopback(["openai"], EmulatorConfig(latency_ms=20)) as served:
        env = environment(db, served, str(tmp_path))
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "costtracker", "worker", "--once"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [worker.communicate(timeout=180) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    with db.sessions() as session:
        runs = {job.name: job.runs for job in session.scalars(select(ScheduledJob))}
        triggered = session.scalar(
            select(func.count()).select_from(CollectionRun).where(CollectionRun.trigger == "schedule")
        )
    assert runs == {"collect-daily": 1, "close-monthly": 1}
    assert triggered == 2
