"""English and French: the browser's language, a switch kept in a cookie, every string translated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from jinja2.ext import babel_extract

from costtracker.settings import Settings
from costtracker.web.app import create_app
from costtracker.web.formatting import Formats
from costtracker.web.i18n import COOKIE, TRANSLATIONS, negotiate, translations
from tests.conftest import Db
from tests.web.authhelp import add_user, sign_in, use_cheap_hashing

TEMPLATES = Path(__file__).parents[2] / "costtracker" / "web" / "templates"


def template_messages() -> set[str | tuple[str, ...]]:
    """Every literal string the templates translate (as ``pybabel extract`` would find them)."""
    found: set[str | tuple[str, ...]] = set()
    for path in TEMPLATES.glob("*.html"):
        with path.open("rb") as source:
            for _line, _function, message, _comments in babel_extract(
                source, ("_", "gettext", "ngettext"), [], {"extensions": "jinja2.ext.i18n"}
            ):
                parts = [message] if isinstance(message, str) or message is None else list(message)
                literal = [part for part in parts if part is not None]
                if literal:
                    found.add(literal[0] if len(literal) == 1 else tuple(literal))
    return found


def test_every_string_of_the_templates_has_a_french_translation() -> None:
    with (TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="fr")
    missing = []
    for message in template_messages():
        key = message if isinstance(message, str) else message[0]
        found = catalog.get(key)
        translated = found.string if found is not None else None
        if not translated or (isinstance(translated, tuple) and not all(translated)):
            missing.append(message)
    assert missing == []
    assert translations("fr").gettext("Overview") == "Vue d'ensemble"  # the catalogue compiles


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-CH,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,de;q=0.9,fr;q=0.5", "fr"),
        ("en;q=0.2,fr;q=0.7", "fr"),
        ("de", "en"),
        ("", "en"),
        ("fr;q=bad,en", "en"),
    ],
)
def test_it_picks_the_browsers_language(header: str, language: str) -> None:
    assert negotiate(header) == language


def test_it_formats_money_and_numbers_for_the_language_from_decimals() -> None:
    assert Formats("en", "USD").money("1234.5") == "$1,234.50"
    assert Formats("fr", "USD").money(Decimal("1234.5")) == "1\u202f234,50\u00a0$US"
    assert Formats("fr", "EUR").number(1234567) == "1\u202f234\u202f567"
    assert Formats("en", "USD").money(None, "no data") == "no data"
    assert Formats("en", "USD").share("1", "3") == "33.3 %"


@pytest.fixture
def client(
    db: Db, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    use_cheap_hashing(monkeypatch)
    add_user(db, "fr@example.com", "viewer")
    with TestClient(create_app(make_settings(database_url=db.url))) as c:
        sign_in(c, db, "fr@example.com")
        yield c


def test_pages_follow_the_browser_then_the_switch_which_is_remembered(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.text and "Vue d'ensemble" in page.text
    switched = client.get("/explorer?lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in switched.text and "Explorer" in switched.text
    assert COOKIE in switched.headers["set-cookie"] and "SameSite=Lax" in switched.headers["set-cookie"]
    again = client.get("/collections", headers={"Accept-Language": "fr"})  # the cookie wins now
    assert '<html lang="en">' in again.text and "Last runs" in again.text
    french = client.get("/collections?lang=fr")
    assert "Dernières collectes" in french.text and "Se déconnecter" in french.text


def test_the_switch_keeps_the_pages_other_parameters(client: TestClient) -> None:
    page = client.get("/explorer?provider=openai&preset=last-month&lang=fr")
    assert 'href="/explorer?provider=openai&amp;preset=last-month&amp;lang=en"' in page.text
