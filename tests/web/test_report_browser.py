"""The report page in a real headless Chromium: Plotly draws under the app's CSP, without errors."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import uvicorn

from costtracker.auth.signing import sign_report_link
from costtracker.settings import Settings
from costtracker.web.app import create_app
from costtracker.web.auth import access_config
from tests.conftest import IN_CI, Db
from tests.reports.conftest import FEBRUARY, JANUARY, Ledger

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    # on a laptop without Chromium the test skips; under CI=true it must run (and fails without it)
    pytest.mark.skipif(
        CHROMIUM is None and not IN_CI, reason="Chromium is not installed (.ci/run installs it)"
    ),
]


@pytest.fixture
def served(db: Db, make_settings: Callable[..., Settings]) -> Iterator[tuple[str, str]]:
    """The app on a free loopback port, and a signed link to February's report."""
    app = create_app(make_settings(database_url=db.url))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    link = sign_report_link(access_config(app).secret_key, "2026-02", timedelta(hours=1))
    try:
        yield f"http://127.0.0.1:{port}", link
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_the_charts_are_drawn_by_plotly_with_no_error_and_no_csp_violation(
    db: Db, served: tuple[str, str]
) -> None:
    from playwright.sync_api import sync_playwright

    ledger = Ledger(db)
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("12.5", 1100)})
    ledger.month("anthropic", JANUARY, {"claude": ("40", 9000)})
    ledger.month("anthropic", FEBRUARY, {"claude": ("30", 7000)})
    origin, link = served
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(origin + link)
        page.wait_for_selector("#chart-split.has-live", timeout=20_000)
        page.wait_for_selector("#chart-trend.has-live .main-svg", timeout=20_000)
        assert page.locator("#chart-split .chart-static").is_hidden()
        assert "$42.50" in page.inner_text("#total")
        browser.close()
    assert problems == []
