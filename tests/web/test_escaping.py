"""Provider-controlled strings (project and model names...) always render as text.

The ledger is seeded with hostile names, then every page of the app (enumerated from its
routes, so pages added later are covered) is read as an admin: the markup must never come out
unescaped.
"""

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from costtracker.clock import today
from costtracker.settings import Settings
from costtracker.store.ledger import ensure_account, ensure_project, ensure_provider
from costtracker.store.models import CostLine, Provenance
from costtracker.web.app import create_app
from tests.conftest import Db
from tests.web.authhelp import SAMPLE_MONTH, add_user, sign_in, use_cheap_hashing, walk

SCRIPT = "<script>alert(1)</script>"
IMAGE = '<img src=x onerror="alert(2)">'
TEMPLATES = Path(__file__).parents[2] / "costtracker" / "web" / "templates"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_hashing(monkeypatch)


def seed_hostile_names(db: Db) -> None:
    """A provider's data as an attacker controlling project and model names would shape it."""
    with db.sessions() as session:
        provider = ensure_provider(session, key="openai", display_name="OpenAI")
        account = ensure_account(session, provider=provider, external_id=f"org-{SCRIPT}", name=SCRIPT)
        project = ensure_project(session, account=account, external_id="proj_1", name=SCRIPT)
        for day in (date.fromisoformat(f"{SAMPLE_MONTH}-15"), today()):
            session.add(
                CostLine(
                    day=day,
                    provider_id=provider.id,
                    account_id=account.id,
                    project_id=project.id,
                    project_key="proj_1",
                    model=IMAGE,
                    line_item=SCRIPT,
                    provenance=Provenance.BILLED.value,
                    amount=Decimal("1.25"),
                    currency="USD",
                    amount_usd=Decimal("1.25"),
                )
            )
        session.commit()


@pytest.fixture
def app(db: Db, make_settings: Callable[..., Settings]) -> FastAPI:
    seed_hostile_names(db)
    return create_app(make_settings(database_url=db.url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def assert_rendered_as_text(body: str, where: str) -> None:
    for hostile in (SCRIPT, IMAGE, "onerror=", "<img src=x"):
        assert hostile not in body, f"{where} renders {hostile!r} as markup"
    if "alert(1)" in body:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, where


def test_every_page_shows_hostile_names_as_text(app: FastAPI, client: TestClient, db: Db) -> None:
    add_user(db, "admin@example.com", "admin")
    sign_in(client, db, "admin@example.com")
    pages = [
        path for method, path in walk(app) if method == "GET" and not path.startswith(("/api/", "/static/"))
    ]
    assert "/" in pages
    for path in pages:
        response = client.get(path)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert_rendered_as_text(response.text, path)


def test_a_hostile_e_mail_is_shown_as_text_in_the_header(client: TestClient, db: Db) -> None:
    email = f"{SCRIPT}@example.com"
    add_user(db, email, "viewer")
    sign_in(client, db, email)
    page = client.get("/")
    assert SCRIPT not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@example.com" in page.text


def test_the_login_form_echoes_a_hostile_e_mail_as_text(client: TestClient) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": f'"><{SCRIPT}', "password": "x", "csrf_token": token})
    assert response.status_code == 401
    assert SCRIPT not in response.text and f'"><{SCRIPT}' not in response.text
    assert "&#34;&gt;&lt;&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_templates_escape_by_default(app: FastAPI) -> None:
    env = app.state.templates.env
    assert env.autoescape is True or env.autoescape("page.html")
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert "|safe" not in text.replace(" ", ""), f"{template.name} turns escaping off"
        assert "autoescape false" not in text, f"{template.name} turns escaping off"
