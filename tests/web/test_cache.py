"""The 5-minute cache: kept per parameters and role, renewed by refresh=true, dropped at once when
a collection (from any process) writes the provider it read, and never kept past its age."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costtracker.settings import Settings
from costtracker.store.db import make_engine, session_factory
from costtracker.web.app import create_app
from costtracker.web.cache import MAX_ENTRIES, ResponseCache
from tests.conftest import Db
from tests.web.authhelp import add_token, add_user, sign_in, use_cheap_hashing
from tests.web.collected import write_day

DAY = date(2026, 1, 15)
JANUARY = {"provider": "openai", "month": "2026-01"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(db: Db, make_settings: Callable[..., Settings], clock: Clock) -> FastAPI:
    write_day(db, "openai", DAY, "10")
    write_day(db, "anthropic", DAY, "5")
    built = create_app(make_settings(database_url=db.url))
    built.state.response_cache = ResponseCache(300, clock=clock)
    return built


@pytest.fixture
def client(app: FastAPI, db: Db) -> Iterator[TestClient]:
    token = add_token(db, "read")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def total(client: TestClient, path: str = "/api/costs", **params: str) -> tuple[str, str]:
    response = client.get(path, params=params or JANUARY)
    assert response.status_code == 200, response.text
    return response.json()["total"], response.headers["x-cache"]


def written_elsewhere(db: Db, provider: str, amount: str) -> None:
    """A collection by another process: its own engine on the same database."""
    other = make_engine(db.url)
    try:
        write_day(Db(db.url, other, session_factory(other)), provider, DAY, amount)
    finally:
        other.dispose()


def test_it_answers_again_from_the_cache_then_renews_it_on_refresh(client: TestClient) -> None:
    assert total(client) == ("10", "miss")
    response = client.get("/api/costs", params=JANUARY)
    assert response.headers["x-cache"] == "hit" and response.headers["age"] == "0"
    assert total(client, **JANUARY, refresh="true") == ("10", "refresh")
    assert total(client) == ("10", "hit")


def test_a_collection_in_another_process_drops_what_it_changed_and_only_that(
    client: TestClient, db: Db
) -> None:
    assert total(client) == ("10", "miss")
    assert total(client, provider="anthropic", month="2026-01") == ("5", "miss")
    assert total(client, "/api/overview", month="2026-01") == ("15", "miss")
    written_elsewhere(db, "openai", "12")
    assert total(client) == ("12", "miss")
    assert total(client, provider="anthropic", month="2026-01") == ("5", "hit")
    assert total(client, "/api/overview", month="2026-01") == ("17", "miss")


def test_an_answer_is_not_kept_past_its_age(client: TestClient, clock: Clock) -> None:
    assert total(client)[1] == "miss"
    clock.now += 299
    assert total(client)[1] == "hit"
    clock.now += 1
    assert total(client)[1] == "miss"


def test_each_role_has_its_own_answers(
    app: FastAPI, client: TestClient, db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_cheap_hashing(monkeypatch)
    assert total(client)[1] == "miss"
    add_user(db, "viewer@example.com", "viewer")
    with TestClient(app) as browser:
        sign_in(browser, db, "viewer@example.com")
        assert browser.get("/api/costs", params=JANUARY).headers["x-cache"] == "miss"
        assert browser.get("/api/costs", params=JANUARY).headers["x-cache"] == "hit"


def test_no_cache_when_its_age_is_zero(db: Db, make_settings: Callable[..., Settings]) -> None:
    write_day(db, "openai", DAY, "10")
    token = add_token(db, "read")
    app = create_app(make_settings(database_url=db.url, cache_seconds=0))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        assert total(client) == ("10", "off")
        assert total(client) == ("10", "off")


def test_it_keeps_a_bounded_number_of_answers() -> None:
    cache = ResponseCache(300)
    for n in range(MAX_ENTRIES + 10):
        cache.put(("route", n), (), n)
    assert cache.get(("route", 0), ()) is None
    entry = cache.get(("route", MAX_ENTRIES + 9), ())
    assert entry is not None and entry.value == MAX_ENTRIES + 9
