"""The home page: every provider's total for a period, with a chart and each one's status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from costtracker.settings import Settings
from costtracker.web.api.costs import daily_data, overview_data
from costtracker.web.cache import lookup
from costtracker.web.deps import SessionDep, SettingsDep
from costtracker.web.pages.controls import attempt, base_context, chart_json, choose_period, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query()]


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    preset: Text = None,
    start: Text = None,
    end: Text = None,
    refresh: bool = False,
) -> HTMLResponse:
    return _overview(request, session, settings, "overview.html", preset, start, end, refresh)


@router.get("/overview/results", response_class=HTMLResponse)
def overview_results(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    preset: Text = None,
    start: Text = None,
    end: Text = None,
    refresh: bool = False,
) -> HTMLResponse:
    """The results part alone, for ``static/results.js``."""
    return _overview(request, session, settings, "_overview_results.html", preset, start, end, refresh)


def _overview(
    request: Request,
    session: Session,
    settings: Settings,
    template: str,
    preset: str | None,
    start: str | None,
    end: str | None,
    refresh: bool,
) -> HTMLResponse:
    context = base_context(request, settings)
    chosen, problem = attempt(lambda: choose_period(preset, start, end))
    served = None
    if chosen is not None:
        served = lookup(
            request,
            session,
            params={"page": "overview", "period": chosen.period},
            providers=None,
            refresh=refresh,
            compute=lambda: _data(session, settings, chosen.period),
        )
        context |= {"chosen": chosen, "as_of": served.stored_at, **served.value}
        context["chart"] = chart_json(served.value["series"])
    context["problem"] = problem
    return render(request, template, context, served=served, status=400 if problem else 200)


def _data(session: Session, settings: Settings, period: Any) -> dict[str, Any]:
    return {
        "overview": overview_data(session, settings, period=period),
        "series": daily_data(session, settings, provider=None, workspace=None, project=None, period=period),
    }
