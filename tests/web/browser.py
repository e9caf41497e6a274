"""Driving Debian's Chromium with Playwright: the app served on loopback, a browser that may not
reach anything else. Without Chromium these tests skip, except under ``CI=true`` where they fail
(``.ci/run`` installs the ``chromium`` package; never ``playwright install``)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import IN_CI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def need_chromium() -> str:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (.ci/run installs the chromium package)")
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    return CHROMIUM


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` on a free loopback port, with its lifespan, until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def confine(context: Any) -> list[str]:
    """Refuse (and list) every request the pages make to a host other than this machine."""
    outside: list[str] = []

    def route(found: Any) -> None:
        host = urlsplit(found.request.url).hostname or ""
        if found.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            found.continue_()
            return
        outside.append(found.request.url)
        found.abort()

    context.route("**/*", route)
    return outside


def watch_errors(page: Any) -> list[str]:
    """Console errors (CSP violations among them) and uncaught exceptions of ``page``."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems
