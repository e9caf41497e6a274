"""Dependencies shared by routes: settings, database sessions, who is asking.

Every route is already protected by :class:`costtracker.web.auth.AccessMiddleware`; use
``AdminDep`` / ``Depends(require_admin)`` for admin-only reads and writes, and
``Depends(require_scope("collect"))`` for the routes machines may call to start work.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from costtracker.auth.principal import Principal
from costtracker.settings import Settings
from costtracker.web.auth import current_principal, require_admin, require_scope


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]

__all__ = [
    "AdminDep",
    "EngineDep",
    "PrincipalDep",
    "SessionDep",
    "SettingsDep",
    "current_principal",
    "require_admin",
    "require_scope",
]
