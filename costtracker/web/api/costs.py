"""What things cost over a period: ``/api/costs`` (the CLI's ``costs --json``, exactly), a daily
series for charts, a workspace's total with its projects, and the overview of every provider.

Periods are inclusive days (``start``/``end``, or ``month``; default: the month to date, as the
CLI). Answers are cached for ``COSTTRACKER_CACHE_SECONDS`` per parameters and role, renewed by
``refresh=true`` and dropped as soon as a collection writes the providers they read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from costtracker.errors import InvalidInput
from costtracker.periods import resolve
from costtracker.settings import Settings
from costtracker.sources.base import Period
from costtracker.store.models import Provider
from costtracker.store.overview import overview, project_totals
from costtracker.store.queries import cost_summary, resolve_scope, scope_filter
from costtracker.store.rollups import Filter
from costtracker.store.series import series
from costtracker.web.cache import cached
from costtracker.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["explorer"])

ProviderQuery = Annotated[str, Query(description="Provider key, e.g. `openai` (see `/api/providers`)")]
OptionalProvider = Annotated[
    str | None, Query(description="Provider key; default: every provider (one series each)")
]
WorkspaceQuery = Annotated[str | None, Query(description="Workspace id or name; default: all of them")]
ProjectQuery = Annotated[str | None, Query(description="Project id or name; default: all projects")]
StartQuery = Annotated[
    str | None, Query(description="First day, YYYY-MM-DD (inclusive). Default: the month to date")
]
EndQuery = Annotated[str | None, Query(description="Last day, YYYY-MM-DD (inclusive); at most 5 years")]
MonthQuery = Annotated[str | None, Query(description="A month, YYYY-MM, instead of start and end")]
RefreshQuery = Annotated[
    bool, Query(description="Compute again and renew the cached answer (the refresh button)")
]


def period_of(month: str | None, start: str | None, end: str | None) -> Period:
    return resolve(month=month, start=start, end=end)


def costs_data(
    session: Session,
    settings: Settings,
    *,
    provider: str,
    workspace: str | None,
    project: str | None,
    period: Period,
) -> dict[str, Any]:
    scope = resolve_scope(
        session, provider=provider, workspace=workspace, project=project, start=period.start, end=period.end
    )
    return cost_summary(session, scope, currency=settings.reporting_currency)


def daily_data(
    session: Session,
    settings: Settings,
    *,
    provider: str | None,
    workspace: str | None,
    project: str | None,
    period: Period,
) -> dict[str, Any]:
    if provider is None:
        if workspace or project:
            raise InvalidInput("provider", "a workspace or a project needs its provider")
        chosen, keys = Filter(), list(session.scalars(select(Provider.key)))
    else:
        scope = resolve_scope(
            session,
            provider=provider,
            workspace=workspace,
            project=project,
            start=period.start,
            end=period.end,
        )
        chosen, keys = scope_filter(scope), [provider]
    return series(
        session,
        chosen,
        start=period.start,
        end=period.end,
        currency=settings.reporting_currency,
        covered=keys,
    )


def workspace_data(
    session: Session, settings: Settings, *, provider: str, workspace: str | None, period: Period
) -> dict[str, Any]:
    scope = resolve_scope(session, provider=provider, workspace=workspace, start=period.start, end=period.end)
    return {
        "summary": cost_summary(session, scope, currency=settings.reporting_currency),
        "projects": project_totals(session, scope_filter(scope), period.start, period.end),
    }


def overview_data(session: Session, settings: Settings, *, period: Period) -> dict[str, Any]:
    return overview(
        session, settings, start=period.start, end=period.end, currency=settings.reporting_currency
    )


@router.get("/costs", summary="What a provider, workspace or project cost, per model")
def costs(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    provider: ProviderQuery,
    workspace: WorkspaceQuery = None,
    project: ProjectQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    month: MonthQuery = None,
    refresh: RefreshQuery = False,
) -> dict[str, Any]:
    """Exactly what `costtracker costs --json` prints for the same parameters: the total
    (decimal string; `null` when never collected, not 0), its `status` (`complete`, `partial`
    with `reasons`, `unknown`), the per-model `breakdown` with provenance, and `last_updated`."""
    period = period_of(month, start, end)
    params = {"provider": provider, "workspace": workspace, "project": project, "period": period}
    return cached(
        request,
        response,
        session,
        params=params,
        providers=[provider],
        refresh=refresh,
        compute=lambda: costs_data(
            session, settings, provider=provider, workspace=workspace, project=project, period=period
        ),
    )


@router.get("/costs/daily", summary="Counted money per day (per month beyond 92 days), for charts")
def daily(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    provider: OptionalProvider = None,
    workspace: WorkspaceQuery = None,
    project: ProjectQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    month: MonthQuery = None,
    refresh: RefreshQuery = False,
) -> dict[str, Any]:
    """One series per provider: `amounts[i]` is the money counted in `periods[i]` (a decimal
    string), `estimated[i]` the estimated part of it; `null` where nothing was ever collected."""
    period = period_of(month, start, end)
    params = {"provider": provider, "workspace": workspace, "project": project, "period": period}
    return cached(
        request,
        response,
        session,
        params=params,
        providers=[provider] if provider else None,
        refresh=refresh,
        compute=lambda: daily_data(
            session, settings, provider=provider, workspace=workspace, project=project, period=period
        ),
    )


@router.get("/costs/workspace", summary="A workspace's total (all its projects) and each project's")
def workspace_total(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    provider: ProviderQuery,
    workspace: WorkspaceQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    month: MonthQuery = None,
    refresh: RefreshQuery = False,
) -> dict[str, Any]:
    """`summary` is `/api/costs` for the whole workspace (or the whole provider without one);
    `projects` gives each project's counted total, largest first (`id` null: lines of no project)."""
    period = period_of(month, start, end)
    params = {"provider": provider, "workspace": workspace, "period": period}
    return cached(
        request,
        response,
        session,
        params=params,
        providers=[provider],
        refresh=refresh,
        compute=lambda: workspace_data(
            session, settings, provider=provider, workspace=workspace, period=period
        ),
    )


@router.get("/overview", summary="Every provider's total for a period")
def overview_of_all(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    start: StartQuery = None,
    end: EndQuery = None,
    month: MonthQuery = None,
    refresh: RefreshQuery = False,
) -> dict[str, Any]:
    """The total of the providers whose data is known, and each collected or configured
    provider with its total as `/api/costs` gives it, its status and its last collection."""
    period = period_of(month, start, end)
    return cached(
        request,
        response,
        session,
        params={"period": period},
        providers=None,
        refresh=refresh,
        compute=lambda: overview_data(session, settings, period=period),
    )
