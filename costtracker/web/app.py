"""``create_app(settings)``: the FastAPI application, built from settings, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from costtracker import __version__
from costtracker.auth.users import create_first_admin
from costtracker.collect.schedule import Scheduler
from costtracker.settings import Settings
from costtracker.store.db import make_engine, session_factory
from costtracker.web.api import collections, costs, explorer, health
from costtracker.web.api import reports as report_api
from costtracker.web.auth import install_access
from costtracker.web.errors import install_error_handlers
from costtracker.web.pages import collections as collection_pages
from costtracker.web.pages import explorer as explorer_pages
from costtracker.web.pages import overview
from costtracker.web.pages import report as report_pages
from costtracker.web.preferences import install_preferences

WEB = Path(__file__).parent


def create_app(settings: Settings, *, run_scheduler: bool = False) -> FastAPI:
    """The app. ``run_scheduler`` also runs the schedules in this process (``costtracker serve``)."""
    engine = make_engine(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        create_first_admin(settings, app.state.sessions)
        scheduler = start_scheduler(app) if run_scheduler else None
        yield
        if scheduler is not None:
            scheduler.stop()
        await collections.drain(app)
        engine.dispose()

    app = FastAPI(
        title="costtracker",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.collections = set()  # background collections started over HTTP
    app.state.templates = Jinja2Templates(directory=WEB / "templates")
    install_error_handlers(app)
    install_access(app)  # default-deny access control, login pages, security headers
    install_preferences(app)  # ?lang= and ?theme= switches, kept in cookies
    app.include_router(health.router, prefix="/api")
    app.include_router(collections.router, prefix="/api")
    app.include_router(report_api.router, prefix="/api")
    app.include_router(explorer.router, prefix="/api")
    app.include_router(costs.router, prefix="/api")
    app.include_router(overview.router)
    app.include_router(explorer_pages.router)
    app.include_router(collection_pages.router)
    app.include_router(report_pages.router)
    # our files, then Plotly's from the installed package (/static/plotly.min.js): no CDN, works offline
    static = StaticFiles(directory=WEB / "static", packages=[("plotly", "package_data")])
    app.mount("/static", static, name="static")
    return app


def start_scheduler(app: FastAPI) -> Scheduler:
    from costtracker.collect.locks import holder_id

    scheduler = Scheduler(app.state.settings, app.state.sessions, holder=holder_id())
    scheduler.start()
    return scheduler
