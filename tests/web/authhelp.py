"""Helpers for web tests: every route but a few is protected, so most tests sign someone in.

add_user(db, "a@example.com", "admin", password)   a user in the test database
sign_in(client, db, email, password) -> csrf        a browser session on ``client``
add_token(db, "read") -> raw token                   for ``Authorization: Bearer``
walk(app) -> [(method, path)]                        every route, parameters filled in
use_cheap_hashing(monkeypatch)                       argon2 at test speed (~1 ms, not ~100)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from starlette.routing import Mount
from starlette.testclient import TestClient

from costtracker.auth import passwords
from costtracker.auth.principal import Role, Scope
from costtracker.auth.tokens import create_token
from costtracker.auth.users import add_user as add_user_row
from costtracker.store.models import UserSession
from costtracker.web.auth import SESSION_COOKIE
from tests.conftest import Db
from tests.leakcheck import planted

PASSWORD = planted("password")
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PARAMETER = re.compile(r"{(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)(?::(?P<convertor>[a-z]+))?}")
SAMPLE_MONTH = "2026-01"


def use_cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same algorithm with the smallest cost: the tests are about who gets in, not argon2."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def add_user(db: Db, email: str, role: str = "admin", password: str = PASSWORD) -> None:
    with db.sessions() as session:
        add_user_row(session, email, password, Role(role), actor="test")
        session.commit()


def add_token(db: Db, scope: str = "read", name: str = "test token") -> str:
    with db.sessions() as session:
        _, raw = create_token(session, name, Scope(scope), actor="test")
        session.commit()
    return raw


def login_form_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    found = LOGIN_CSRF.search(page.text)
    assert found, "the login form has no csrf_token field"
    return found.group(1)


def sign_in(client: TestClient, db: Db, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form, as a browser does; returns the session's CSRF token."""
    form = {"email": email, "password": password, "csrf_token": login_form_token(client), "next": "/"}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return session_csrf(client, db)


def session_csrf(client: TestClient, db: Db) -> str:
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie, "no session cookie"
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    with db.sessions() as session:
        token = session.scalar(select(UserSession.csrf_token).where(UserSession.token_hash == digest))
    assert token is not None
    return token


def sample_value(name: str, convertor: str | None) -> str:
    """A plausible value for a path parameter, so the request reaches the route."""
    if convertor == "int" or name == "id" or name.endswith("_id"):
        return "1"
    if convertor == "path":
        return "x"
    if "month" in name:
        return SAMPLE_MONTH
    if name in {"day", "date", "start", "end"}:
        return f"{SAMPLE_MONTH}-15"
    return "openai"


def fill(path: str) -> str:
    return PARAMETER.sub(lambda m: sample_value(m.group("name"), m.group("convertor")), path)


def walk(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app answers, including routes others add later; mounts give one
    sample path (``/static/app.css``)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            yield "GET", f"{context.original_route.path}/app.css"
            continue
        path, methods = context.path, context.methods
        if path is None or not methods:  # websocket routes have no methods
            continue
        for method in sorted(methods):
            yield method, fill(path)
