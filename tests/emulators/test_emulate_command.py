"""``costtracker emulate`` serves every provider; a documented request gets the documented shape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from costtracker.emulators import emulator_module
from costtracker.emulators.serve import emulated_keys

pytestmark = pytest.mark.slow


def first_free_port(count: int) -> int:
    for first in range(30000, 60000, 101):
        try:
            sockets = []
            for offset in range(count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return first
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def origins() -> Iterator[dict[str, str]]:
    keys = emulated_keys()
    first = first_free_port(len(keys))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSTTRACKER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "costtracker", "emulate", "--port", str(first)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found = {key: f"http://127.0.0.1:{first + index}" for index, key in enumerate(keys)}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{found[keys[-1]]}/_emulator/stats")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "emulate did not start"
                time.sleep(0.2)
        yield found
    finally:
        process.terminate()
        process.communicate(timeout=30)


def key(provider: str, variable: str) -> str:
    return str(emulator_module(provider).DEMO_ENV[variable])


DOCUMENTED: dict[str, tuple[str, dict[str, str], Callable[[], dict[str, str]], set[str]]] = {
    # provider: (path, query, headers, top-level keys the documentation shows)
    "openai": (
        "/v1/organization/costs",
        {"start_time": "1767225600", "end_time": "1767830400", "limit": "7"},
        lambda: {"Authorization": f"Bearer {key('openai', 'OPENAI_ADMIN_KEY_EDUGAMI')}"},
        {"object", "data", "has_more", "next_page"},
    ),
    "anthropic": (
        "/v1/organizations/cost_report",
        {"starting_at": "2026-01-01T00:00:00Z", "limit": "7"},
        lambda: {"x-api-key": key("anthropic", "ANTHROPIC_ADMIN_KEY"), "anthropic-version": "2023-06-01"},
        {"data", "has_more", "next_page"},
    ),
    "openrouter": (
        "/api/v1/credits",
        {},
        lambda: {"Authorization": f"Bearer {key('openrouter', 'OPENROUTER_MANAGEMENT_KEY')}"},
        {"data"},
    ),
    "elevenlabs": (
        "/v1/user/subscription",
        {},
        lambda: {"xi-api-key": key("elevenlabs", "ELEVENLABS_API_KEY")},
        {"tier", "character_count", "character_limit", "next_character_count_reset_unix"},
    ),
    "deepgram": (
        "/v1/projects",
        {},
        lambda: {"Authorization": f"Token {key('deepgram', 'DEEPGRAM_API_KEY')}"},
        {"projects"},
    ),
    "mistral": (
        "/v1/admin/usage",
        {"month": "1", "year": "2026"},
        lambda: {"x-api-key": key("mistral", "MISTRAL_ADMIN_KEY")},
        {"completion", "start_date", "end_date", "currency", "prices"},
    ),
}


@pytest.mark.parametrize("provider", sorted(DOCUMENTED))
def test_a_documented_request_gets_the_documented_shape(origins: dict[str, str], provider: str) -> None:
    path, query, headers, shape = DOCUMENTED[provider]
    response = httpx.get(f"{origins[provider]}{path}", params=query, headers=headers())
    assert response.status_code == 200, response.text
    assert set(response.json()) >= shape


@pytest.mark.parametrize("provider", sorted(DOCUMENTED))
def test_a_request_without_its_key_is_refused(origins: dict[str, str], provider: str) -> None:
    path, query, _, _ = DOCUMENTED[provider]
    assert httpx.get(f"{origins[provider]}{path}", params=query).status_code in (401, 403)


def test_every_source_has_an_emulator_served(origins: dict[str, str]) -> None:
    from costtracker.sources import SOURCES

    assert set(origins) == set(SOURCES)
