"""/api/providers, /api/workspaces and /api/projects: what the explorer offers to choose from."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from costtracker.settings import Settings
from costtracker.sources import available_sources
from costtracker.web.app import create_app
from tests.conftest import Db
from tests.web.authhelp import add_token
from tests.web.collected import FAILED_WORKSPACE, collect_everything


def client_for(db: Db, settings: Settings) -> TestClient:
    token = add_token(db, "read")
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def client(db: Db, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with client_for(db, collect_everything(db, monkeypatch)) as c:
        yield c


def listing(client: TestClient, path: str, **params: str) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_it_lists_every_source_with_how_its_last_collection_went(client: TestClient) -> None:
    providers = {p["key"]: p for p in listing(client, "/api/providers")}
    assert list(providers)[: len(available_sources())] == list(available_sources())
    openai = providers["openai"]
    assert openai["has_workspaces"] is True and openai["display_name"] == "OpenAI" and openai["kind"] == "llm"
    assert openai["collected"] is True and openai["configured"] is True and openai["workspaces"] == 3
    assert openai["last_collection"]["status"] == "partial"
    assert any(r.startswith(f"{FAILED_WORKSPACE}: ") for r in openai["last_collection"]["reasons"])
    assert providers["deepgram"]["has_workspaces"] is False
    assert providers["deepgram"]["last_collection"]["status"] == "success"


def test_a_provider_never_collected_says_so(db: Db, make_settings: Callable[..., Settings]) -> None:
    with client_for(db, make_settings(database_url=db.url)) as client:
        providers = listing(client, "/api/providers")
    assert {p["status"] for p in providers} == {"never_collected"}
    assert all(p["last_collection"] is None and p["configured"] is False for p in providers)


def test_it_lists_a_providers_workspaces_and_their_projects(client: TestClient) -> None:
    workspaces = listing(client, "/api/workspaces", provider="openai")
    assert [w["name"] for w in workspaces] == ["Edugami", FAILED_WORKSPACE, "Storygami"]
    edugami = workspaces[0]
    projects = listing(client, "/api/projects", provider="openai", workspace=edugami["id"])
    assert len(projects) == edugami["projects"] > 0
    assert {p["workspace"] for p in projects} == {"Edugami"}
    by_name = listing(client, "/api/projects", provider="openai", workspace="edugami")
    assert by_name == projects  # a workspace by id or (any case) name
    every = listing(client, "/api/projects", provider="openai")
    assert {p["id"] for p in projects} < {p["id"] for p in every}
