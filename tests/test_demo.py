"""``costtracker demo`` as a newcomer runs it: emulated providers, collected data, a sign-in."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from costtracker.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSTTRACKER_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "costtracker",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if "demo ready" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(120), "\n".join(lines)
        yield f"http://127.0.0.1:{port}", lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(10)
        if process.stdout is not None:
            process.stdout.close()


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    response = client.post(
        "/login",
        data={"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code in (302, 303), response.text[:500]


def test_the_demo_serves_collected_data_behind_a_login(demo: tuple[str, list[str]]) -> None:
    url, lines = demo
    assert any(DEMO_ADMIN_EMAIL in line and DEMO_ADMIN_PASSWORD in line for line in lines)
    assert any(re.search(r"collected run #1: (success|partial)", line) for line in lines), lines
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as client:
        assert client.get("/api/health").json()["status"] == "ok"
        assert client.get("/api/runs").status_code == 401
        sign_in(client)
        runs = client.get("/api/runs").json()
        outcomes = {o["provider"] for o in runs[0]["outcomes"] if o["status"] in ("success", "partial")}
        assert outcomes == {"openai", "anthropic", "openrouter", "elevenlabs", "deepgram", "mistral"}
        assert sum(o["lines"] for o in runs[0]["outcomes"]) > 0
        home = client.get("/")
        assert home.status_code == 200
