"""Emulators for engine tests: in-process (ASGI transports) or on loopback (for subprocesses)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from costtracker.emulators import emulator_module
from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.emulators.serve import Served, serve_emulators

ORIGIN = "http://emulator.test"


class InProcess:
    """Emulators mounted as transports, and the environment that points the sources at them."""

    def __init__(self, keys: list[str], config: EmulatorConfig | None = None) -> None:
        self.emulators: dict[str, Emulator] = {
            key: emulator_module(key).create_app(config or EmulatorConfig()) for key in keys
        }
        self.transports: dict[str, httpx.AsyncBaseTransport] = {
            key: httpx.ASGITransport(app=emulator) for key, emulator in self.emulators.items()
        }

    def environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for key in self.emulators:
            env.update(emulator_module(key).DEMO_ENV)
            env[f"COSTTRACKER_{key.upper()}_BASE_URL"] = ORIGIN
        return env


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., InProcess]:
    def build(keys: list[str], config: EmulatorConfig | None = None, **env: str | None) -> InProcess:
        emulated = InProcess(keys, config)
        for name, value in {**emulated.environment(), **env}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return emulated

    return build


@contextmanager
def on_loopback(keys: list[str], config: EmulatorConfig | None = None) -> Iterator[list[Served]]:
    """Serve emulators from a background thread, so a subprocess (or a blocking call) can reach them."""
    ready = threading.Event()
    stop: asyncio.Event | None = None
    served: list[Served] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with serve_emulators(keys, config=config) as items:
            served.extend(items)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("emulators did not start")
    try:
        yield served
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
