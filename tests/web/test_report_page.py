"""The report page and its exports over HTTP: who sees them, what they show, what they refuse."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from costtracker.auth.signing import sign_report_link
from costtracker.periods import previous_month
from costtracker.reports.close import close_month
from costtracker.reports.exports import counted_total
from costtracker.reports.model import MonthlyReport
from costtracker.reports.monthly import build_report
from costtracker.reports.view import Formatter
from costtracker.settings import Settings
from costtracker.web.app import create_app
from costtracker.web.auth import access_config
from tests.collect.conftest import InProcess, in_process
from tests.conftest import Db
from tests.reports.conftest import FEBRUARY, JANUARY, Ledger, collect, failing_transport
from tests.web.authhelp import add_token, add_user, sign_in, use_cheap_hashing

__all__ = ["in_process"]

MONTH = "2026-02"
PAGE = f"/report/{MONTH}"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_hashing(monkeypatch)


@pytest.fixture
def settings(db: Db, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(database_url=db.url)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


@pytest.fixture
def viewer(client: TestClient, db: Db) -> TestClient:
    add_user(db, "viewer@example.com", "viewer")
    sign_in(client, db, "viewer@example.com")
    return client


@pytest.fixture
def ledger(db: Db) -> Ledger:
    return Ledger(db)


@pytest.fixture
def two_months(db: Db, ledger: Ledger) -> MonthlyReport:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("12.5", 1100), "o3": ("3", 50)})
    ledger.month("anthropic", JANUARY, {"claude": ("40", 9000)})
    ledger.failed("anthropic", FEBRUARY, "the admin key was refused (401)")
    with db.sessions() as session:
        return build_report(session, MONTH, currency="USD")


def card(page: str, key: str) -> str:
    found = re.search(rf'<article class="card provider [^"]*" id="provider-{key}">.*?</article>', page, re.S)
    assert found, f"no card for {key}"
    return found.group(0)


def test_a_provider_that_failed_this_month_shows_as_failed(
    db: Db, make_settings: Callable[..., Settings], viewer: TestClient, in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai", "deepgram"])
    settings = make_settings(database_url=db.url)  # after the emulators' keys are in the environment
    asyncio.run(collect(db, settings, emulated.transports, JANUARY))
    failing = {**emulated.transports, "deepgram": failing_transport("deepgram")}
    asyncio.run(collect(db, settings, failing, FEBRUARY))
    page = viewer.get(PAGE)
    assert page.status_code == 200
    deepgram = card(page.text, "deepgram")
    assert "provider-failed" in deepgram and "Failed" in deepgram and "unknown" in deepgram
    assert "$0.00" not in deepgram  # unknown is never zero
    assert "Deepgram is left out of the change" in page.text
    with db.sessions() as session:
        report = build_report(session, MONTH, currency="USD")
    assert f"at least {Formatter('USD').money(report.total)}" in page.text


def test_the_page_shows_the_total_the_change_and_its_drivers_without_inline_script(
    viewer: TestClient, two_months: MonthlyReport
) -> None:
    page = viewer.get(PAGE).text
    fmt = Formatter("USD")
    assert fmt.money(two_months.total) in page and fmt.signed(two_months.change) in page
    assert "Why the total moved" in page and 'class="driver-new' in page
    assert 'href="/report/2026-02.pdf"' in page and 'href="/report/2026-01"' in page
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/csrf.js" defer>',
        '<script src="/static/plotly.min.js" defer>',
        '<script src="/static/report.js" defer>',
    ]
    assert "provider-failed" in card(page, "anthropic") and "401" in card(page, "anthropic")


def test_the_page_formats_amounts_in_the_readers_language(
    viewer: TestClient, two_months: MonthlyReport
) -> None:
    page = viewer.get(PAGE, params={"lang": "fr"}).text
    french, english = Formatter("USD", "fr"), Formatter("USD")
    assert french.money(two_months.total) in page
    assert french.money(two_months.total) != english.money(two_months.total)


def test_plotly_and_the_report_script_are_served_from_the_app(client: TestClient) -> None:
    for path in ("/static/plotly.min.js", "/static/report.js"):
        response = client.get(path)
        assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert len(client.get("/static/plotly.min.js").content) > 1_000_000  # the real bundle, not a stub


def test_a_signed_link_opens_the_page_and_hands_its_signature_to_the_exports(
    app: FastAPI, client: TestClient, two_months: MonthlyReport
) -> None:
    link = sign_report_link(access_config(app).secret_key, MONTH, timedelta(days=3))
    page = client.get(link)
    assert page.status_code == 200
    query = urlsplit(link).query.replace("&", "&amp;")
    assert f'href="/report/{MONTH}.pdf?{query}"' in page.text
    assert f'href="/report/{MONTH}.csv?{query}"' in page.text
    assert 'rel="prev"' not in page.text  # other months are not part of the link
    assert client.get(f"/report/{MONTH}.csv?{urlsplit(link).query}").status_code == 200
    assert client.get(f"/report/2026-01?{urlsplit(link).query}").status_code == 403


def test_without_sign_in_or_link_the_page_goes_to_the_login(client: TestClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["location"].startswith("/login?next=")


def test_a_closed_month_says_so(db: Db, settings: Settings, viewer: TestClient, ledger: Ledger) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    asyncio.run(close_month(settings, db.sessions, "2026-01", collect=False))
    assert "Closed on" in viewer.get("/report/2026-01").text
    assert "Not closed yet" in viewer.get(PAGE).text


@pytest.mark.parametrize("month", ["2026-13", "january", "2999-01"])
def test_a_bad_month_is_a_400_page_naming_it(viewer: TestClient, month: str) -> None:
    response = viewer.get(f"/report/{month}")
    assert response.status_code == 400 and "month" in response.text


def test_report_without_a_month_opens_the_last_month_over(viewer: TestClient) -> None:
    response = viewer.get("/report")
    assert response.headers["location"] == f"/report/{previous_month().start:%Y-%m}"


def test_the_pdf_is_a_pdf(viewer: TestClient, two_months: MonthlyReport) -> None:
    response = viewer.get(f"/report/{MONTH}.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_the_report_json_has_decimal_strings_and_null_for_unknown(
    db: Db, client: TestClient, two_months: MonthlyReport
) -> None:
    token = add_token(db, "read")
    body = client.get(
        "/api/report", params={"month": MONTH}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["total"] == format(two_months.total, "f") and body["change"] == format(two_months.change, "f")
    anthropic = next(p for p in body["providers"] if p["key"] == "anthropic")
    assert anthropic["status"] == "failed" and anthropic["total"] is None


def test_the_csv_export_filters_and_adds_up_to_the_report(
    viewer: TestClient, two_months: MonthlyReport
) -> None:
    response = viewer.get("/api/export/csv", params={"provider": "openai", "month": MONTH})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["provider"] for row in rows} == {"openai"}
    openai = next(p for p in two_months.providers if p.key == "openai")
    assert counted_total(rows, "USD") == openai.total == Decimal("15.5")


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"provider": "nope", "month": MONTH}, "provider"),
        ({"workspace": "x", "month": MONTH}, "provider"),
        ({"month": "2026-1"}, "month"),
        ({"start": "2026-02-01"}, "end"),
    ],
)
def test_a_bad_export_filter_is_a_400_naming_the_parameter(
    viewer: TestClient, params: dict[str, str], param: str
) -> None:
    response = viewer.get("/api/export/csv", params=params)
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_send_report_needs_more_than_a_viewer_and_says_why_nothing_was_sent(
    db: Db, viewer: TestClient, two_months: MonthlyReport
) -> None:
    assert viewer.post("/api/send-report", params={"month": MONTH}).status_code == 403
    token = add_token(db, "collect", name="cron")
    response = viewer.post(
        "/api/send-report", params={"month": "2026-01"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 502
    assert response.json()["undelivered"][0].startswith("e-mail: ")


def test_collect_with_send_email_needs_a_month_that_is_over(db: Db, client: TestClient) -> None:
    add_user(db, "admin@example.com", "admin")
    csrf_token = sign_in(client, db, "admin@example.com")
    headers = {"X-CSRF-Token": csrf_token}
    response = client.post("/api/collect", params={"send_email": "true"}, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["param"] == "month"
    response = client.post("/api/collect", params={"send_email": "true", "month": "2999-01"}, headers=headers)
    assert response.status_code == 400 and "not over" in response.json()["error"]["message"]
