"""The explorer, the overview and the collection panel in a real headless Chromium: the walk the
seed describes, with figures checked against the API, and no request leaving the machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from costtracker.emulators.serve import emulated_keys
from costtracker.settings import Settings
from costtracker.web.app import create_app
from tests.collect.conftest import on_loopback
from tests.conftest import Db
from tests.web.authhelp import PASSWORD, add_user, use_cheap_hashing
from tests.web.browser import ARGS, confine, need_chromium, served, watch_errors
from tests.web.collected import FAILED_WORKSPACE, collect_everything, revoked_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADMIN = "admin@example.com"


@pytest.fixture
def origin(db: Db, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app on loopback, its ledger collected from emulators that are on loopback too."""
    need_chromium()
    use_cheap_hashing(monkeypatch)
    with on_loopback(emulated_keys(), revoked_config()) as emulators:
        settings = collect_everything(db, monkeypatch, served=emulators)
        add_user(db, ADMIN, "admin")
        with served(create_app(settings)) as url:
            yield url


@pytest.fixture
def browser_page(origin: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=need_chromium(), args=ARGS)
        context = browser.new_context(
            locale="en-US", viewport={"width": 1280, "height": 900}, base_url=origin
        )
        outside = confine(context)
        page = context.new_page()
        problems = watch_errors(page)
        page.goto(origin + "/login")
        page.fill("input[name=email]", ADMIN)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(origin + "/")
        yield page, problems, outside
        browser.close()


def api(page: Any, path: str, **params: str) -> Any:
    response = page.request.get(path, params=params)
    assert response.ok, response.text()
    return response.json()


def selection(page: Any) -> dict[str, str]:
    """The page's choices, as its address bar says them, with the period the server resolved."""
    chosen = dict(parse_qsl(urlsplit(page.url).query))
    resolved = page.locator("#resolved")
    chosen.pop("preset", None)
    chosen["start"], chosen["end"] = resolved.get_attribute("data-start"), resolved.get_attribute("data-end")
    return chosen


def shown_total(page: Any) -> str:
    return str(page.locator("#total [data-total]").get_attribute("data-total"))


def after_results(page: Any, action: Any) -> Any:
    """Do ``action`` and wait until the results it asked for are in the page."""
    with page.expect_response(lambda r: "/results?" in r.url) as answer:
        action()
    # a selector, not wait_for_function: polling a JS string needs eval, which the page's CSP forbids
    page.locator("#results[aria-busy='false']").wait_for(state="attached")
    return answer.value


def assert_total_matches_the_api(page: Any) -> None:
    chosen = selection(page)
    summary = api(page, "/api/costs", **chosen)
    assert shown_total(page) == (summary["total"] or ""), chosen


def test_a_walk_through_the_explorer_matches_the_api(browser_page: tuple[Any, list[str], list[str]]) -> None:
    page, problems, outside = browser_page
    # the overview first (the home page)
    start = page.locator("#resolved").get_attribute("data-start")
    end = page.locator("#resolved").get_attribute("data-end")
    assert shown_total(page) == api(page, "/api/overview", start=start, end=end)["total"]
    page.wait_for_selector("#chart-overview.has-live .main-svg")

    page.click("nav.main-nav >> text=Explorer")
    page.wait_for_selector("#chart-daily.has-live")
    after_results(page, lambda: page.select_option("#provider", "anthropic"))
    assert page.locator("#workspace-field").is_visible()
    assert "Anthropic" in page.inner_text("#total")
    assert_total_matches_the_api(page)

    workspace = page.locator("#workspace option").nth(1).get_attribute("value")
    after_results(page, lambda: page.select_option("#workspace", workspace))
    assert_total_matches_the_api(page)
    assert page.locator("#project option").count() > 1
    project = page.locator("#project option").nth(1).get_attribute("value")
    after_results(page, lambda: page.select_option("#project", project))
    assert selection(page)["project"] == project
    assert_total_matches_the_api(page)

    after_results(page, lambda: page.click("button[data-preset=last-month]"))
    assert page.get_attribute("button[data-preset=last-month]", "aria-pressed") == "true"
    assert_total_matches_the_api(page)

    first, last = selection(page)["start"], selection(page)["end"]
    custom_start = first[:8] + "05"
    page.fill("#start", custom_start)
    page.fill("#end", last)
    after_results(page, lambda: page.click("button.apply"))
    assert selection(page)["start"] == custom_start
    assert page.get_attribute("button[data-preset=last-month]", "aria-pressed") == "false"
    assert_total_matches_the_api(page)

    refreshed = after_results(page, lambda: page.click("button.refresh"))
    assert "refresh=true" in refreshed.url and refreshed.headers["x-cache"] == "refresh"
    assert_total_matches_the_api(page)

    # a provider without workspaces, then the failed workspace
    after_results(page, lambda: page.select_option("#provider", "deepgram"))
    assert page.locator("#workspace-field").is_hidden()
    assert_total_matches_the_api(page)
    after_results(page, lambda: page.select_option("#provider", "openai"))
    after_results(page, lambda: page.select_option("#workspace", label=FAILED_WORKSPACE))
    warning = page.locator(".warning.failed")
    assert warning.is_visible() and "The collection failed" in warning.inner_text()
    assert page.inner_text("#total [data-total]") == "No data"

    # French, then dark: the choices stay
    page.click("a[data-switch=lang][data-value=fr]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "fr"
    assert page.inner_text("nav.main-nav").startswith("Vue d'ensemble")
    assert page.input_value("#provider") == "openai" and FAILED_WORKSPACE in page.inner_text(
        ".warning.failed"
    )
    page.click("#theme-dark")
    page.wait_for_load_state()
    assert page.get_attribute("html", "data-theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 17, 20)"
    assert page.input_value("#provider") == "openai"

    assert problems == []
    assert outside == []


def test_the_collection_panel_collects_a_month_and_shows_its_log(
    browser_page: tuple[Any, list[str], list[str]],
) -> None:
    page, problems, outside = browser_page
    page.click("nav.main-nav >> text=Collections")
    page.wait_for_selector("details[data-run='1'] [data-log]:not([hidden])")
    page.click("#collect-form button")
    page.wait_for_selector("#collect-status.status-partial, #collect-status.status-success", timeout=60_000)
    assert "#2" in page.inner_text("#collect-status")
    assert "finished" in page.inner_text("#collect-log")
    page.wait_for_selector("details[data-run='2']", timeout=10_000)  # the page reloads with the new run
    assert problems == []
    assert outside == []


def test_the_guard_refuses_and_reports_a_request_to_another_host(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    """What makes the walk above fail on any request leaving the machine (the CSP already stops a
    page's own fetches; a navigation is what it does not stop)."""
    from playwright.sync_api import Error, sync_playwright

    chromium = need_chromium()
    with served(create_app(make_settings(database_url=db.url))) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context()
        outside = confine(context)
        page = context.new_page()
        page.goto(url + "/login")
        with pytest.raises(Error):
            page.goto("http://192.0.2.10/cdn/plotly.js")
        browser.close()
    assert outside == ["http://192.0.2.10/cdn/plotly.js"]
