"""The home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from costtracker.sources import SOURCES
from costtracker.store.db import ping
from costtracker.web.deps import EngineDep

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, engine: EngineDep) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "home.html",
        {"database_ok": ping(engine), "sources": sorted(SOURCES)},
    )
    return response
