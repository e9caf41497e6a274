"""The explorer's choices: providers, a provider's workspaces, a workspace's projects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from costtracker.store.explorer import project_list, provider_list, workspace_list
from costtracker.web.api.costs import ProviderQuery, RefreshQuery
from costtracker.web.cache import cached
from costtracker.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["explorer"])


@router.get("/providers", summary="Every provider, with its last collection")
def providers(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    refresh: RefreshQuery = False,
) -> list[dict[str, Any]]:
    """Registered sources and anything in the ledger: `kind`, `display_name`, `has_workspaces`,
    `configured` (a key is set), `status` (`never_collected` until data or a failure is stored),
    and `last_collection`: the latest run's outcome for it (`success`, `partial`, `failed`,
    `unavailable`, `skipped`) with the `reasons` in plain words."""
    return cached(
        request,
        response,
        session,
        params={},
        providers=None,
        refresh=refresh,
        compute=lambda: provider_list(session, settings),
    )


@router.get("/workspaces", summary="A provider's workspaces (organisations, accounts)")
def workspaces(
    request: Request,
    response: Response,
    session: SessionDep,
    provider: ProviderQuery,
    refresh: RefreshQuery = False,
) -> list[dict[str, Any]]:
    """`id` (what `workspace=` takes), `name`, and how many `projects` it has."""
    return cached(
        request,
        response,
        session,
        params={"provider": provider},
        providers=[provider],
        refresh=refresh,
        compute=lambda: workspace_list(session, provider),
    )


@router.get("/projects", summary="A provider's projects (or API keys), in one workspace or all")
def projects(
    request: Request,
    response: Response,
    session: SessionDep,
    provider: ProviderQuery,
    workspace: Annotated[str | None, Query(description="Workspace id or name; default: all")] = None,
    refresh: RefreshQuery = False,
) -> list[dict[str, Any]]:
    """`id` (what `project=` takes), `name`, `kind` (project, api_key...), `status` and `workspace`."""
    return cached(
        request,
        response,
        session,
        params={"provider": provider, "workspace": workspace},
        providers=[provider],
        refresh=refresh,
        compute=lambda: project_list(session, provider, workspace),
    )
