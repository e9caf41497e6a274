"""Build a source wired to its emulator in-process (``httpx.ASGITransport``), no network.

``sleeps`` records every backoff the HTTP layer asked for instead of sleeping, so tests of
429/500 handling are instant and can assert the ``Retry-After`` that was honoured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.http import Http, RetryPolicy
from costtracker.settings import Settings
from costtracker.sources import load_source
from costtracker.sources.base import Source

EMULATOR_ORIGIN = "http://emulator.test"


class Wiring:
    """What a source test needs: the source, its emulator, and the waits it asked for."""

    def __init__(self, source: Source, emulator: Emulator, http: Http, sleeps: list[float]) -> None:
        self.source = source
        self.emulator = emulator
        self.http = http
        self.sleeps = sleeps


@pytest.fixture
async def wire(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Wiring]]:
    """``wire("openai", config=EmulatorConfig(...), ENV_NAME="value")`` -> a Wiring.

    The emulator's ``DEMO_ENV`` (its keys) and the given variables are set in the environment,
    exactly as a user would configure them; ``ENV_NAME=None`` removes one.
    """
    opened: list[Http] = []

    def build(
        key: str, *, config: EmulatorConfig | None = None, max_retries: int = 3, **env: str | None
    ) -> Wiring:
        from costtracker.emulators import emulator_module

        module = emulator_module(key)
        emulator: Emulator = module.create_app(config or EmulatorConfig())
        for name, value in {**module.DEMO_ENV, **env}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.setenv(f"COSTTRACKER_{key.upper()}_BASE_URL", EMULATOR_ORIGIN)
        settings = make_settings()
        sleeps: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            sleeps.append(seconds)

        source_cls = load_source(key)
        http = Http(
            key,
            EMULATOR_ORIGIN,
            limits=source_cls.rate_limit,
            policy=RetryPolicy(max_retries=max_retries, backoff_seconds=0.01),
            transport=httpx.ASGITransport(app=emulator),
            sleep=fake_sleep,
        )
        opened.append(http)
        return Wiring(source_cls(settings, http), emulator, http, sleeps)

    yield build
    for http in opened:
        await http.aclose()
