"""``GET /api/health``: is the service up and can it reach its database?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from costtracker import __version__
from costtracker.store.db import ping
from costtracker.store.migrate import current_revision, head_revision
from costtracker.web.deps import EngineDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service and database health")
def health(engine: EngineDep, verbose: bool = False) -> JSONResponse:
    """``status`` is ``ok`` when the database answers, ``degraded`` (HTTP 503) when it does not."""
    reachable = ping(engine)
    body: dict[str, Any] = {
        "status": "ok" if reachable else "degraded",
        "version": __version__,
        "database": {"reachable": reachable, "dialect": engine.dialect.name},
    }
    if verbose and reachable:
        body["database"]["revision"] = current_revision(engine)
        body["database"]["head"] = head_revision()
    return JSONResponse(body, status_code=200 if reachable else 503)
