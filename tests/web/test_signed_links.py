"""Signed report links: they open one month's report (and its exports) until they expire.

The probe routes live under ``/report/<month>/`` so they do not clash with the real report
page, which another issue adds; the link rules are the same for every path under it.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette.testclient import TestClient

from costtracker.auth.signing import check_report_link, resolve_secret_key, sign_report_link
from costtracker.clock import utcnow
from costtracker.errors import ConfigError
from costtracker.settings import Settings
from costtracker.web.app import create_app
from costtracker.web.auth import access_config
from tests.conftest import Db

MONTH = "2026-01"
PAGE = f"/report/{MONTH}/probe"
EXPORT = f"/report/{MONTH}/probe.csv"


def probe_router() -> APIRouter:
    router = APIRouter()

    @router.get("/report/{month}/probe")
    def page(month: str, request: Request) -> dict[str, str | None]:
        principal = request.state.principal
        return {"month": month, "kind": principal.kind, "granted": principal.report_month}

    @router.get("/report/{month}/probe.csv")
    def export(month: str) -> dict[str, str]:
        return {"export": month}

    @router.post("/report/{month}/probe")
    def change(month: str) -> dict[str, str]:
        return {"changed": month}

    return router


@pytest.fixture
def app(db: Db, make_settings: Callable[..., Settings]) -> FastAPI:
    app = create_app(make_settings(database_url=db.url))
    app.include_router(probe_router())
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def link_for(app: FastAPI, month: str = MONTH, days: int = 30) -> str:
    return sign_report_link(access_config(app).secret_key, month, timedelta(days=days))


def moved(link: str, path: str) -> str:
    """The same signature on another path of the report (as the report page builds its exports)."""
    return path + "?" + urlsplit(link).query


def test_a_signed_link_opens_the_report_and_its_exports(client: TestClient, app: FastAPI) -> None:
    link = link_for(app)
    assert link.startswith(f"/report/{MONTH}?expires=")
    page = client.get(moved(link, PAGE))
    assert page.status_code == 200
    assert page.json() == {"month": MONTH, "kind": "link", "granted": MONTH}
    assert client.get(moved(link, EXPORT)).json() == {"export": MONTH}
    assert client.head(moved(link, PAGE)).status_code not in (302, 401, 403)  # 405: a GET-only route


def test_the_real_report_page_takes_a_link_and_refuses_it_tampered(client: TestClient, app: FastAPI) -> None:
    if not any(c.path == "/report/{month}" for c in iter_route_contexts(app.routes)):
        pytest.skip("no /report/{month} page in this app yet")
    link = link_for(app)
    assert client.get(link).status_code not in (302, 401, 403)
    assert client.get(link[:-1] + ("0" if link[-1] != "0" else "1")).status_code == 403


def test_without_a_link_the_report_needs_a_sign_in(client: TestClient) -> None:
    assert client.get(PAGE).status_code == 302


def signed_positions(link: str) -> set[int]:
    """Where the month, the expiry and the signature are written in ``link``."""
    month = link.index(MONTH)
    expires = link.index("expires=") + len("expires=")
    sig = link.index("sig=") + len("sig=")
    return {
        *range(month, month + len(MONTH)),
        *range(expires, link.index("&", expires)),
        *range(sig, len(link)),
    }


def test_a_link_with_any_one_character_changed_is_refused(client: TestClient, app: FastAPI) -> None:
    link = moved(link_for(app), PAGE)
    assert link.endswith(link[link.index("sig=") :])  # the signature comes last
    assert client.get(link).status_code == 200
    signed = signed_positions(link)
    for position, char in enumerate(link):
        if not char.isalnum():
            continue
        tampered = link[:position] + ("1" if char != "1" else "2") + link[position + 1 :]
        status = client.get(tampered).status_code
        assert status != 200, tampered
        if position in signed:
            assert status == 403, tampered


def test_a_link_whose_signature_changed_says_it_is_not_valid(client: TestClient, app: FastAPI) -> None:
    link = moved(link_for(app), PAGE)
    tampered = link[:-1] + ("0" if link[-1] != "0" else "1")
    response = client.get(tampered, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "link_invalid"
    assert "not valid" in client.get(tampered).text  # the page a person sees


def test_a_link_for_one_month_does_not_open_another(client: TestClient, app: FastAPI) -> None:
    link = link_for(app, "2025-12")
    response = client.get(moved(link, PAGE))
    assert response.status_code == 403


def test_a_link_past_its_expiry_is_refused(client: TestClient, app: FastAPI) -> None:
    link = moved(link_for(app, days=1), PAGE)
    config = access_config(app)
    later = utcnow() + timedelta(days=1, seconds=1)
    config.clock = lambda: later
    response = client.get(link)
    assert response.status_code == 403
    assert "this report link has expired" in response.text


def test_a_link_grants_nothing_else(client: TestClient, app: FastAPI) -> None:
    query = urlsplit(link_for(app)).query
    assert client.post(f"{PAGE}?{query}").status_code == 401
    assert client.get(f"/?{query}").status_code == 302
    assert client.get(f"/api/runs?{query}").status_code == 401
    assert client.get(f"/report/{MONTH}/../../api/runs?{query}").status_code in (401, 404)


def test_a_link_signed_with_another_key_is_refused(client: TestClient) -> None:
    link = sign_report_link("another key, another install", MONTH, timedelta(days=1))
    assert client.get(moved(link, PAGE)).status_code == 403


def test_the_link_carries_its_expiry() -> None:
    now = datetime(2026, 2, 1, 12, 0, tzinfo=utcnow().tzinfo)
    link = sign_report_link("k" * 32, MONTH, timedelta(days=7), now=now)
    expires = int(parse_qs(urlsplit(link).query)["expires"][0])
    assert expires == int((now + timedelta(days=7)).timestamp())


@pytest.mark.parametrize(
    ("month", "expires", "sig"),
    [("2026-13", "1", "00"), ("2026-01", "-1", "00"), ("2026-01", "1e9", "00"), ("2026-01", "1", "é")],
)
def test_malformed_links_are_refused_without_an_error(month: str, expires: str, sig: str) -> None:
    assert check_report_link("k" * 32, month, expires, sig, now=utcnow()) == "invalid"


def test_only_a_month_can_be_signed() -> None:
    with pytest.raises(ValueError, match="not a month"):
        sign_report_link("k" * 32, "2026-1", timedelta(days=1))


def test_without_a_configured_key_one_is_kept_in_the_data_directory(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings()
    first = resolve_secret_key(settings)
    assert "COSTTRACKER_SECRET_KEY is not set" in caplog.text
    assert resolve_secret_key(settings) == first
    assert (settings.data_dir / "secret_key").stat().st_mode & 0o077 == 0


def test_the_configured_key_wins(make_settings: Callable[..., Settings]) -> None:
    key = "a-configured-key-of-32-characters"
    assert resolve_secret_key(make_settings(secret_key=key)) == key


def test_a_placeholder_key_is_refused_outside_the_demo(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match="COSTTRACKER_SECRET_KEY"):
        resolve_secret_key(make_settings(secret_key="change-me"))
    assert resolve_secret_key(make_settings(secret_key="change-me", demo=True)) == "change-me"
