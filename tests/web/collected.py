"""A ledger filled the way production fills it: the collection engine against every emulator
(in-process), for last month and this month to date, with one OpenAI workspace (Memoways) whose
key was revoked, so a failed workspace is part of the data."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest

from costtracker.clock import today
from costtracker.collect.engine import CollectionEngine
from costtracker.emulators import emulator_module
from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.serve import Served, emulated_keys
from costtracker.http import RateLimit, RetryPolicy
from costtracker.settings import Settings
from costtracker.sources.base import Period
from tests.conftest import Db

ORIGIN = "http://emulator.test"
FAILED_WORKSPACE = "Memoways"


def collected_period() -> Period:
    first_of_this = today().replace(day=1)
    return Period((first_of_this - timedelta(days=1)).replace(day=1), today())


async def _no_sleep(_seconds: float) -> None:
    return None


def revoked_config() -> EmulatorConfig:
    """Every emulator well-behaved, except that OpenAI refuses Memoways' key."""
    from costtracker.emulators.openai import DEMO_ENV as OPENAI_KEYS

    return EmulatorConfig(revoked_keys={OPENAI_KEYS[f"OPENAI_ADMIN_KEY_{FAILED_WORKSPACE.upper()}"]})


def collect_everything(
    db: Db, monkeypatch: pytest.MonkeyPatch, served: list[Served] | None = None
) -> Settings:
    """Collect every emulated provider into ``db``; returns the settings that point at them.

    Emulators run in-process (ASGI transports) unless ``served`` ones are given (on loopback,
    for an app that will collect again over HTTP, as the collection panel does).
    """
    transports: dict[str, httpx.AsyncBaseTransport] = {}
    environment: dict[str, str] = {}
    for key in emulated_keys():
        module = emulator_module(key)
        transports[key] = httpx.ASGITransport(app=module.create_app(revoked_config()))
        environment |= module.DEMO_ENV | {f"COSTTRACKER_{key.upper()}_BASE_URL": ORIGIN}
    if served is not None:
        transports = {}
        environment = {name: value for item in served for name, value in item.environment().items()}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COSTTRACKER_DATABASE_URL", db.url)
    settings = Settings(_env_file=None)
    engine = CollectionEngine(
        settings,
        db.sessions,
        transports=transports,
        policy=RetryPolicy(max_retries=1, backoff_seconds=0),
        sleep=_no_sleep,
        rate_limit=RateLimit(concurrency=8, per_second=10_000),
    )
    asyncio.run(engine.run(collected_period(), trigger="manual"))
    return settings


def write_day(db: Db, provider: str, day: date, amount: str, *, model: str = "model-a") -> None:
    """One billed line and that day's coverage, written as the collection writer writes them."""
    from decimal import Decimal

    from costtracker.collect.writer import record_coverage
    from costtracker.store.ledger import ensure_account, ensure_provider, upsert_cost_lines

    with db.sessions.begin() as session:
        row = ensure_provider(session, key=provider, display_name=provider.title())
        account = ensure_account(
            session, provider=row, external_id="default", name="Default", meta={"credential": "default"}
        )
        line = {"day": day, "provider_id": row.id, "account_id": account.id, "model": model}
        line |= {
            "provenance": "billed",
            "amount": Decimal(amount),
            "amount_usd": Decimal(amount),
            "requests": 1,
        }
        upsert_cost_lines(session, [line])
        record_coverage(
            session,
            provider=provider,
            credential="default",
            period=Period(day, day),
            status="success",
            reason=None,
            run_id=None,
        )
