"""The collection panel (the seed's manual collection panel): the last runs with their outcome
and log, and for admins a form that collects a month now (``static/collections.js`` posts it to
``POST /api/collect`` and follows the run until it ends)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from costtracker.clock import today
from costtracker.collect.runs import list_runs, run_to_dict
from costtracker.notify.deliveries import delivery_problems
from costtracker.web.deps import SessionDep, SettingsDep
from costtracker.web.pages.controls import base_context, render

router = APIRouter(include_in_schema=False)


@router.get("/collections", response_class=HTMLResponse)
def collections_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    last: Annotated[int, Query(ge=1, le=200)] = 20,
) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    runs = [run_to_dict(run, with_logs=False) for run in list_runs(session, limit=last)]
    context = base_context(request, settings) | {
        "runs": runs,
        "can_collect": bool(principal and principal.is_admin),
        "this_month": f"{today():%Y-%m}",
        "deliveries": delivery_problems(session),
    }
    return render(request, "collections.html", context)
