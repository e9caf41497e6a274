"""The explorer page and its results fragment, on a collected ledger with a failed workspace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from costtracker.settings import Settings
from tests.conftest import Db
from tests.web.collected import FAILED_WORKSPACE, collect_everything
from tests.web.pagehelp import shown_total, signed_in


@pytest.fixture
def client(db: Db, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with signed_in(db, collect_everything(db, monkeypatch), monkeypatch) as c:
        yield c


def test_it_opens_on_the_first_provider_with_data_for_this_month(client: TestClient) -> None:
    page = client.get("/explorer")
    assert page.status_code == 200
    assert '<option value="openai" data-has-workspaces="true" data-collected="true" selected>' in page.text
    assert 'data-preset="this-month" aria-pressed="true"' in page.text
    for workspace in ("Edugami", FAILED_WORKSPACE, "Storygami"):
        assert f">{workspace}</option>" in page.text
    api = client.get(
        "/api/costs", params={"provider": "openai", "start": start_of(page.text), "end": end_of(page.text)}
    )
    assert shown_total(page.text) == (api.json()["total"], "partial")  # Memoways failed


def start_of(html: str) -> str:
    return html.split('id="resolved" hidden data-start="')[1].split('"')[0]


def end_of(html: str) -> str:
    return html.split('" data-end="')[1].split('"')[0]


def test_a_failed_workspace_shows_its_reason_and_no_data_not_zero(client: TestClient) -> None:
    page = client.get(
        "/explorer", params={"provider": "openai", "workspace": FAILED_WORKSPACE, "preset": "last-month"}
    )
    assert "The collection failed: nothing is known for this period." in page.text
    assert 'class="card warning failed"' in page.text
    assert shown_total(page.text) == ("", "partial")
    assert "$0.00" not in page.text.split('id="total"')[1].split("</section>")[0]


def test_the_results_fragment_is_the_results_alone_and_cached(client: TestClient) -> None:
    params = {"provider": "anthropic", "preset": "last-month"}
    first = client.get("/explorer/results", params=params)
    assert first.status_code == 200 and "<html" not in first.text and 'id="total"' in first.text
    assert first.headers["x-cache"] == "miss"
    assert client.get("/explorer/results", params=params).headers["x-cache"] == "hit"
    assert (
        client.get("/explorer/results", params=params | {"refresh": "true"}).headers["x-cache"] == "refresh"
    )
    api = client.get(
        "/api/costs",
        params={"provider": "anthropic", "start": start_of(first.text), "end": end_of(first.text)},
    )
    assert shown_total(first.text)[0] == api.json()["total"]


def test_estimates_and_unpriced_usage_are_labelled(client: TestClient) -> None:
    params = {"provider": "openai", "workspace": "Edugami", "preset": "this-month"}
    page = client.get("/explorer", params=params).text
    summary = client.get(
        "/api/costs",
        params={"provider": "openai", "workspace": "Edugami", "start": start_of(page), "end": end_of(page)},
    ).json()
    if summary["by_provenance"]["estimated"] != "0":
        assert "estimated (usage × list prices)" in page
    unpriced = [m for m in summary["breakdown"] if m["amount"] is None and "unpriced" in m["provenance"]]
    assert unpriced, "the emulator has usage without a price"
    for model in unpriced:
        row = page.split(f'data-model="{model["model"]}"')[1].split("</tr>")[0]
        assert "no price" in row and "$0.00" not in row.split("</td>")[1]
    assert f"{summary['unpriced_lines']} lines of usage have no known price: not counted" in page


def test_a_provider_without_workspaces_hides_the_workspace_choice(client: TestClient) -> None:
    page = client.get("/explorer", params={"provider": "deepgram"}).text
    assert '<label id="workspace-field" hidden>' in page
    assert "Deepgram total: every workspace and project" in page


def test_a_bad_period_or_workspace_is_said_where_the_results_go(client: TestClient) -> None:
    page = client.get("/explorer", params={"provider": "openai", "start": "2026-03-10", "end": "2026-03-01"})
    assert page.status_code == 400 and "end (2026-03-01) is before start (2026-03-10)" in page.text
    fragment = client.get("/explorer/results", params={"provider": "openai", "project": "nope"})
    assert fragment.status_code == 400 and "no project &#39;nope&#39; at OpenAI" in fragment.text


def test_a_provider_never_collected_has_no_data_not_zero(
    db: Db, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url=db.url, deepgram_api_key="dg-key-for-the-test")
    with signed_in(db, settings, monkeypatch) as client:
        page = client.get("/explorer").text
    assert "Deepgram has never been collected: there is no data, not even a zero." in page
    assert "$0.00" not in page


def test_estimated_parts_of_projects_are_marked(client: TestClient) -> None:
    page = client.get("/explorer", params={"provider": "anthropic", "preset": "last-month"}).text
    workspace = page.split('id="workspace-total"')[1].split("</section>")[0]
    body = client.get(
        "/api/costs/workspace", params={"provider": "anthropic", "start": start_of(page), "end": end_of(page)}
    ).json()
    assert Decimal(body["summary"]["total"]) == sum(Decimal(p["total"]) for p in body["projects"])
    assert ("includes estimates" in workspace) == any(p["estimated"] != "0" for p in body["projects"])
