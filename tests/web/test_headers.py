"""Security headers on every kind of response, and a CSP that allows no inline script."""

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from costtracker.settings import Settings
from costtracker.web.app import create_app
from tests.conftest import Db

TEMPLATES = Path(__file__).parents[2] / "costtracker" / "web" / "templates"
READ_TOKEN = "read-token-for-the-header-tests"


@pytest.fixture
def client(db: Db, make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url=db.url, report_secret_token=READ_TOKEN))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def signed(client: TestClient, path: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {READ_TOKEN}"})


def script_sources(csp: str) -> str:
    return next(part for part in csp.split(";") if part.strip().startswith("script-src"))


@pytest.mark.parametrize(
    ("path", "status", "signed_in"),
    [
        ("/login", 200, False),
        ("/api/health", 200, False),
        ("/static/app.css", 200, False),
        ("/", 302, False),
        ("/api/runs", 401, False),
        ("/", 200, True),
        ("/api/nope", 404, True),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, path: str, status: int, signed_in: bool
) -> None:
    response = signed(client, path) if signed_in else client.get(path)
    assert response.status_code == status
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert script_sources(csp).split() == ["script-src", "'self'"]


def test_pages_and_answers_are_not_cached_but_static_files_may_be(client: TestClient) -> None:
    assert client.get("/login").headers["cache-control"] == "no-store"
    assert client.get("/api/health").headers["cache-control"] == "no-store"
    assert client.get("/static/app.css").headers.get("cache-control") != "no-store"


def test_https_responses_ask_for_https_from_then_on(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/login").headers
    secure = client.get("https://testserver/login")
    assert secure.headers["strict-transport-security"].startswith("max-age=")


def test_the_api_docs_page_names_its_one_inline_script_by_hash(client: TestClient) -> None:
    response = signed(client, "/api/docs")
    assert response.status_code == 200
    body = response.text
    inline = re.findall(r"<script>(.*?)</script>", body, re.DOTALL)
    assert inline, "the Swagger page changed: no inline script any more?"
    sources = script_sources(response.headers["content-security-policy"])
    assert "'unsafe-inline'" not in sources
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in sources


def test_templates_have_no_inline_script_nor_inline_handler() -> None:
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {template.name}"
        assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), f"inline handler in {template.name}"
        assert "javascript:" not in text.lower(), f"javascript: URL in {template.name}"
