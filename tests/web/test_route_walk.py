"""Every route of the app, walked as an anonymous client, a viewer and a read token.

Routes are enumerated from ``app.routes`` when the test runs, with their path parameters
filled with plausible values, so routes added by later issues are covered without editing
this file. Public: ``/api/health``, the login page and static files (signed report links are
tested in test_signed_links.py).
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from costtracker.settings import Settings
from costtracker.web.app import create_app
from tests.conftest import Db
from tests.leakcheck import planted
from tests.web.authhelp import add_token, add_user, sign_in, use_cheap_hashing, walk

PUBLIC = {("GET", "/api/health"), ("GET", "/login"), ("POST", "/login"), ("GET", "/static/app.css")}
SIGNED_IN_ANYONE = {("POST", "/logout")}  # a viewer may sign out
SAFE = {"GET", "HEAD", "OPTIONS"}


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_hashing(monkeypatch)


@pytest.fixture
def app(db: Db, make_settings: Callable[..., Settings]) -> FastAPI:
    """The real app, with a provider key planted to prove no answer ever shows it."""
    return create_app(make_settings(database_url=db.url, openai_admin_key=planted("sk-admin")))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def refused_anonymously(response: Any) -> bool:
    """401, or for a page a redirect to the login form that comes back after."""
    location: str = response.headers.get("location", "")
    return response.status_code == 401 or (
        response.status_code == 302 and location.startswith("/login?next=")
    )


def test_the_walk_sees_the_routes_it_must(app: FastAPI) -> None:
    routes = set(walk(app))
    assert routes >= PUBLIC | SIGNED_IN_ANYONE
    assert ("GET", "/") in routes and ("GET", "/api/docs") in routes


def test_every_route_but_the_public_ones_refuses_an_anonymous_client(
    app: FastAPI, client: TestClient
) -> None:
    for method, path in walk(app):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, path)
        assert refused_anonymously(response), (method, path, response.status_code)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            if method != "HEAD":
                assert response.json()["error"]["code"] == "unauthorized"


def test_the_public_routes_answer_an_anonymous_client(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_every_state_changing_route_refuses_a_viewer(app: FastAPI, client: TestClient, db: Db) -> None:
    add_user(db, "viewer@example.com", "viewer")
    csrf = sign_in(client, db, "viewer@example.com")
    writes = [(m, p) for m, p in walk(app) if m not in SAFE and (m, p) not in PUBLIC | SIGNED_IN_ANYONE]
    assert writes, "no state-changing route found"
    for method, path in writes:
        response = client.request(method, path, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 403, (method, path, response.status_code)


def test_every_state_changing_route_refuses_a_read_token(app: FastAPI, client: TestClient, db: Db) -> None:
    token = add_token(db, "read")
    for method, path in walk(app):
        if method in SAFE or (method, path) in PUBLIC:
            continue
        response = client.request(method, path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403, (method, path, response.status_code)


def test_a_viewer_reads_every_page_without_a_refusal(app: FastAPI, client: TestClient, db: Db) -> None:
    add_user(db, "viewer@example.com", "viewer")
    sign_in(client, db, "viewer@example.com")
    for method, path in walk(app):
        if method == "GET" and not path.startswith("/api/") and path != "/login":
            assert client.get(path).status_code not in (302, 401), path
