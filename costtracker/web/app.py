"""``create_app(settings)``: the FastAPI application, built from settings, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from costtracker import __version__
from costtracker.settings import Settings
from costtracker.store.db import make_engine, session_factory
from costtracker.web.api import health
from costtracker.web.errors import install_error_handlers
from costtracker.web.pages import home

WEB = Path(__file__).parent


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
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
    app.state.templates = Jinja2Templates(directory=WEB / "templates")
    install_error_handlers(app)
    app.include_router(health.router, prefix="/api")
    app.include_router(home.router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app
