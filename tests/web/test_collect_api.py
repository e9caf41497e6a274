"""``POST /api/collect`` and ``/api/runs`` over HTTP, with tokens, against in-process emulators."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from costtracker.emulators.openai import DEMO_ENV
from costtracker.settings import Settings
from costtracker.web.app import create_app
from tests.collect.conftest import on_loopback
from tests.conftest import Db
from tests.web.authhelp import add_token

SEED_TOKEN = "seed-collect-token-0123456789abcdef"


@pytest.fixture
def client(
    db: Db, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    with on_loopback(["openai"]) as served:
        for name, value in served[0].environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("COSTTRACKER_HTTP_BACKOFF_SECONDS", "0")
        settings = make_settings(database_url=db.url, collect_secret_token=SEED_TOKEN)
        with TestClient(create_app(settings)) as test_client:
            yield test_client


def wait_for(client: TestClient, run_id: int, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}", headers=headers).json()
        if run["status"] != "running":
            return dict(run)
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def test_collect_without_a_token_is_refused(client: TestClient) -> None:
    response = client.post("/api/collect", params={"month": "2026-01"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_read_token_cannot_start_a_collection(client: TestClient, db: Db) -> None:
    token = add_token(db, scope="read")
    response = client.post(
        "/api/collect", params={"month": "2026-01"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


def test_the_seed_form_starts_a_run_that_can_be_followed(client: TestClient, db: Db) -> None:
    response = client.post(
        "/api/collect", params={"token": SEED_TOKEN, "month": "2026-01", "provider": "openai"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "running" and response.headers["location"] == f"/api/runs/{body['run_id']}"
    reader = {"Authorization": f"Bearer {add_token(db, scope='read')}"}
    run = wait_for(client, body["run_id"], reader)
    assert run["status"] == "success"
    assert run["trigger"] == "api"
    workspaces = sorted(name.split("_")[-1].capitalize() for name in DEMO_ENV)
    assert [outcome["account"] for outcome in run["outcomes"]] == workspaces
    listed = client.get("/api/runs", params={"limit": 5}, headers=reader).json()
    assert listed[0]["id"] == body["run_id"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"month": "2026-1"}, "month"),
        ({"month": "2026-01", "provider": "nope"}, "provider"),
    ],
)
def test_bad_parameters_answer_400_naming_them(
    client: TestClient, params: dict[str, str], named: str
) -> None:
    response = client.post("/api/collect", params={"token": SEED_TOKEN, **params})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == named


def test_an_unknown_run_is_404(client: TestClient, db: Db) -> None:
    reader = {"Authorization": f"Bearer {add_token(db, scope='read')}"}
    assert client.get("/api/runs/999999", headers=reader).status_code == 404
    assert client.get("/api/runs", params={"limit": 0}, headers=reader).status_code == 400
