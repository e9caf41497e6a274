"""The home page: every provider for a period, the failed one's warning, nothing shown as $0.00
that is not known."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from costtracker.settings import Settings
from tests.conftest import Db
from tests.web.collected import FAILED_WORKSPACE, collect_everything
from tests.web.pagehelp import shown_total, signed_in


def test_it_shows_every_provider_the_total_and_the_failed_workspace(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    with signed_in(db, collect_everything(db, monkeypatch), monkeypatch) as client:
        page = client.get("/", params={"preset": "last-month"}).text
        start = page.split('data-start="')[1].split('"')[0]
        end = page.split('data-end="')[1].split('"')[0]
        overview = client.get("/api/overview", params={"start": start, "end": end}).json()
        fragment = client.get("/overview/results", params={"preset": "last-month"})
    assert shown_total(page) == (overview["total"], "partial")
    warning = page.split('data-warning="partial"')[1].split("</div>")[0]
    assert "OpenAI" in warning and FAILED_WORKSPACE in warning
    for row in overview["providers"]:
        assert f'data-provider="{row["key"]}"' in page
        assert f'href="/explorer?provider={row["key"]}&amp;start={start}&amp;end={end}"' in page
    assert 'id="chart-overview" data-chart="' in page
    assert fragment.status_code == 200 and "<html" not in fragment.text


def test_with_nothing_collected_it_says_so_instead_of_zero(
    db: Db, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    with signed_in(db, make_settings(database_url=db.url), monkeypatch) as client:
        page = client.get("/").text
    assert "No provider is configured or collected yet." in page
    assert shown_total(page) == ("", "unknown") and "$0.00" not in page


def test_a_bad_range_is_a_400_said_in_the_page(
    db: Db, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    with signed_in(db, make_settings(database_url=db.url), monkeypatch) as client:
        page = client.get("/", params={"start": "2026-02-30", "end": "2026-03-01"})
    assert page.status_code == 400 and "start: expected a date as YYYY-MM-DD" in page.text
