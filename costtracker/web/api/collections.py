"""Collections over HTTP: start one (``POST /api/collect``), follow it (``GET /api/runs``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from costtracker.collect.engine import CollectionEngine, resolve_providers
from costtracker.collect.runs import create_run, get_run, list_runs, run_to_dict
from costtracker.errors import InvalidInput
from costtracker.periods import month_to_date, parse_month
from costtracker.web.deps import SessionDep, SettingsDep, require_scope

router = APIRouter(tags=["collection"])
log = logging.getLogger(__name__)


@router.post(
    "/collect",
    status_code=202,
    summary="Start a collection",
    dependencies=[Depends(require_scope("collect"))],  # collect tokens (and admins) may start one
)
async def start_collection(
    request: Request,
    settings: SettingsDep,
    month: Annotated[str | None, Query(description="YYYY-MM; default: the month to date")] = None,
    provider: Annotated[list[str] | None, Query(description="Only these providers (repeatable)")] = None,
    send_email: Annotated[bool, Query(description="Then close the month (it must be over), mail it")] = False,
) -> JSONResponse:
    """Start a collection in the background and answer at once with its run id (HTTP 202)."""
    from costtracker.reports.close import closable_month, close_after

    if send_email and not month:
        raise InvalidInput("month", "send_email=true needs the month to close (YYYY-MM, a finished month)")
    period = parse_month(month) if month else month_to_date()
    if send_email and month:
        period = closable_month(month)
    keys = resolve_providers(provider)
    sessions = request.app.state.sessions
    run_id = await asyncio.to_thread(create_run, sessions, trigger="api", period=period, providers=keys)
    engine = CollectionEngine(settings, sessions)
    job: Any = engine.run(period, providers=keys, trigger="api", run_id=run_id)
    if send_email:  # the report of the month just collected, frozen then e-mailed (never twice)
        job = close_after(settings, sessions, f"{period.start:%Y-%m}", job)
    task = asyncio.create_task(job)
    _keep(request.app, task)
    body = {
        "run_id": run_id,
        "status": "running",
        "url": f"/api/runs/{run_id}",
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "providers": keys,
    }
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/runs/{run_id}"})


@router.get("/runs", summary="Latest collection runs")
def runs(session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> list[dict[str, Any]]:
    return [run_to_dict(run, with_logs=False) for run in list_runs(session, limit=limit)]


@router.get("/runs/{run_id}", summary="One run: progress, outcomes and log")
def run(run_id: int, session: SessionDep) -> dict[str, Any]:
    return run_to_dict(get_run(session, run_id))


def _keep(app: FastAPI, task: asyncio.Task[Any]) -> None:
    """Hold a reference to a background collection (asyncio keeps only weak ones)."""
    tasks: set[asyncio.Task[Any]] = app.state.collections
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    task.add_done_callback(_report_crash)


def _report_crash(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background collection failed: %s", type(task.exception()).__name__)


async def drain(app: FastAPI) -> None:
    """On shutdown, let running collections finish (they are short) rather than cut them."""
    tasks: set[asyncio.Task[Any]] = app.state.collections
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
