"""?theme= and ?lang= on any page: applied by the server from the first paint, kept in cookies."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from costtracker.settings import Settings
from costtracker.web.app import create_app
from costtracker.web.preferences import THEME_COOKIE
from tests.conftest import Db
from tests.web.authhelp import add_user, sign_in, use_cheap_hashing


@pytest.fixture
def client(
    db: Db, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    use_cheap_hashing(monkeypatch)
    add_user(db, "someone@example.com", "viewer")
    with TestClient(create_app(make_settings(database_url=db.url))) as c:
        sign_in(c, db, "someone@example.com")
        yield c


def html_tag(client: TestClient, path: str) -> str:
    return client.get(path).text.split(">", 2)[1]


def test_it_follows_the_system_until_a_theme_is_chosen_then_keeps_it(client: TestClient) -> None:
    assert "data-theme" not in html_tag(client, "/")
    chosen = client.get("/collections?theme=dark")
    assert 'data-theme="dark"' in chosen.text.split(">", 2)[1]
    assert f"{THEME_COOKIE}=dark" in chosen.headers["set-cookie"]
    assert 'data-theme="dark"' in html_tag(client, "/explorer")
    assert (
        'id="theme-light" data-switch="theme" data-value="light" href="/explorer?theme=light"'
        in client.get("/explorer").text
    )
    back = client.get("/?theme=system")
    assert "Max-Age=0" in back.headers["set-cookie"] and "data-theme" not in back.text.split(">", 2)[1]


def test_an_unknown_choice_is_ignored(client: TestClient) -> None:
    response = client.get("/?theme=purple&lang=de")
    assert "set-cookie" not in response.headers
    assert "data-theme" not in response.text.split(">", 2)[1]


def test_the_api_takes_no_preference(client: TestClient) -> None:
    assert "set-cookie" not in client.get("/api/providers?theme=dark&lang=fr").headers
