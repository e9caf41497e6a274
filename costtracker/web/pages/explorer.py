"""The explorer (the seed's main screen): provider -> workspace -> project -> period, then the
total, the per-model table, the workspace's total and a daily chart.

The page works as a plain form (every choice is a query parameter, so a view can be bookmarked);
``static/explorer.js`` fills the workspace and project lists from the API as choices change and
reloads only the results (``/explorer/results``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from costtracker.errors import InvalidInput
from costtracker.settings import Settings
from costtracker.store.explorer import project_list, provider_list, workspace_list
from costtracker.web.api.costs import costs_data, daily_data, workspace_data
from costtracker.web.cache import lookup
from costtracker.web.deps import SessionDep, SettingsDep
from costtracker.web.pages.controls import Chosen, attempt, base_context, chart_json, choose_period, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query()]


@router.get("/explorer", response_class=HTMLResponse)
def explorer_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    provider: Text = None,
    workspace: Text = None,
    project: Text = None,
    preset: Text = None,
    start: Text = None,
    end: Text = None,
    refresh: bool = False,
) -> HTMLResponse:
    providers = [p for p in provider_list(session, settings) if p["collected"] or p["configured"]]
    chosen = _provider(providers, provider)
    context = base_context(request, settings) | {"providers": providers, "provider": chosen}
    context |= _choices(session, chosen, workspace)
    context |= {"project": project or ""}
    context |= _results(
        request, session, settings, chosen, context["workspace"], project, preset, start, end, refresh
    )
    return render(request, "explorer.html", context, status=400 if context["problem"] else 200)


@router.get("/explorer/results", response_class=HTMLResponse)
def explorer_results(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    provider: Text = None,
    workspace: Text = None,
    project: Text = None,
    preset: Text = None,
    start: Text = None,
    end: Text = None,
    refresh: bool = False,
) -> HTMLResponse:
    """The results part alone, for ``static/explorer.js``."""
    providers = provider_list(session, settings)
    chosen = _provider(providers, provider)
    context = base_context(request, settings) | {"provider": chosen}
    context |= _results(request, session, settings, chosen, workspace, project, preset, start, end, refresh)
    status = 400 if context["problem"] else 200
    return render(request, "_explorer_results.html", context, served=context.get("served"), status=status)


def _provider(providers: list[dict[str, Any]], key: str | None) -> dict[str, Any] | None:
    """The provider asked for, else the first with data, else the first listed."""
    for found in providers:
        if found["key"] == key:
            return found
    if key:
        return {"key": key, "display_name": key, "collected": True, "has_workspaces": False, "unknown": True}
    with_data = [p for p in providers if p["collected"]] or providers
    return with_data[0] if with_data else None


def _choices(session: Session, provider: dict[str, Any] | None, workspace: str | None) -> dict[str, Any]:
    """The workspace and project lists of the chosen provider (empty until it has data)."""
    if provider is None or not provider["collected"] or provider.get("unknown"):
        return {"workspaces": [], "projects": [], "workspace": workspace or ""}
    workspaces = workspace_list(session, provider["key"])
    if not any(workspace in (w["id"], w["name"]) for w in workspaces):
        workspace = None
    projects, _ = attempt(lambda: project_list(session, provider["key"], workspace))
    return {"workspaces": workspaces, "projects": projects or [], "workspace": workspace or ""}


def _results(
    request: Request,
    session: Session,
    settings: Settings,
    provider: dict[str, Any] | None,
    workspace: str | None,
    project: str | None,
    preset: str | None,
    start: str | None,
    end: str | None,
    refresh: bool,
) -> dict[str, Any]:
    chosen, problem = attempt(lambda: choose_period(preset, start, end))
    found: dict[str, Any] = {"chosen": chosen, "problem": problem, "data": None}
    if chosen is None or provider is None or not provider["collected"]:
        return found
    params = {"page": "explorer", "p": provider["key"], "w": workspace, "j": project, "period": chosen.period}
    key = provider["key"]
    try:
        served = lookup(
            request,
            session,
            params=params,
            providers=[key],
            refresh=refresh,
            compute=lambda: _data(session, settings, key, workspace or None, project or None, chosen),
        )
    except InvalidInput as exc:  # an unknown workspace or project: said where the results go
        return found | {"problem": exc.message}
    chart = chart_json(served.value["series"])
    return found | {"data": served.value, "served": served, "as_of": served.stored_at, "chart": chart}


def _data(
    session: Session,
    settings: Settings,
    provider: str,
    workspace: str | None,
    project: str | None,
    chosen: Chosen,
) -> dict[str, Any]:
    period = chosen.period
    return {
        "summary": costs_data(
            session, settings, provider=provider, workspace=workspace, project=project, period=period
        ),
        "workspace": workspace_data(session, settings, provider=provider, workspace=workspace, period=period),
        "series": daily_data(
            session, settings, provider=provider, workspace=workspace, project=project, period=period
        ),
    }
