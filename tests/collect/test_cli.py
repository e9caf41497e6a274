"""``costtracker collect``, ``runs`` and ``costs`` as a user runs them, against loopback emulators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costtracker.clock import today
from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.serve import Served
from costtracker.sources.base import Period
from costtracker.store.models import FxRate
from costtracker.store.types import quantize_money
from tests.collect.conftest import on_loopback
from tests.conftest import Db

pytestmark = pytest.mark.slow
EUR_TO_USD = Decimal("1.0845")
LAST_MONTH = Period.month(2026, 10)


def recent_days() -> Period:
    """Inside OpenRouter's 30 complete days."""
    return Period(today() - timedelta(days=21), today() - timedelta(days=2))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costtracker", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def loopback(db: Db, tmp_path: Path) -> Iterator[tuple[dict[str, str], list[Served]]]:
    with on_loopback(
        ["openai", "anthropic", "openrouter", "elevenlabs", "deepgram", "mistral"], EmulatorConfig()
    ) as served:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COSTTRACKER_")}
        env.update(
            {
                "COSTTRACKER_DATABASE_URL": db.url,
                "COSTTRACKER_DATA_DIR": str(tmp_path),
                "COSTTRACKER_HTTP_BACKOFF_SECONDS": "0",
                "COSTTRACKER_LOG_LEVEL": "WARNING",
            }
        )
        for item in served:
            env.update(item.environment())
        yield env, served


def dataset(served: list[Served], key: str) -> Any:
    return next(item.emulator.dataset for item in served if item.key == key)


def costs(env: dict[str, str], provider: str, period: Period) -> dict[str, Any]:
    result = run(
        env,
        "costs",
        "--provider",
        provider,
        "--start",
        period.start.isoformat(),
        "--end",
        period.end.isoformat(),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_bad_arguments_exit_2_with_a_message(loopback: tuple[dict[str, str], list[Served]]) -> None:
    env, _ = loopback
    for args, named in (
        (["--month", "2026-13"], "month"),
        (["--provider", "nope"], "provider"),
        (["--start", "2026-02-01", "--end", "2026-01-01"], "end"),
    ):
        result = run(env, "collect", *args)
        assert result.returncode == 2, result.stderr
        assert named in result.stderr and "Traceback" not in result.stderr


def test_costs_equal_the_emulators_known_totals_for_every_provider(
    loopback: tuple[dict[str, str], list[Served]], db: Db
) -> None:
    env, served = loopback
    with db.sessions.begin() as session:
        session.add(
            FxRate(day=date(2026, 9, 30), currency="EUR", quote="USD", rate=EUR_TO_USD, source="test")
        )
    # OpenRouter keeps 30 days; Mistral bills whole months: each is collected over a period it covers whole
    for period, providers in (
        (LAST_MONTH, ["openai", "anthropic", "deepgram", "mistral"]),
        (recent_days(), ["openrouter"]),
    ):
        flags = [arg for key in providers for arg in ("--provider", key)]
        result = run(
            env, "collect", "--start", period.start.isoformat(), "--end", period.end.isoformat(), *flags
        )
        assert result.returncode == 0, result.stdout + result.stderr
    expectations: dict[str, tuple[Period, str, Callable[[Any, Period], Decimal]]] = {
        "openai": (LAST_MONTH, "billed", lambda d, p: d.billed_total(p.start, p.end)),
        "anthropic": (LAST_MONTH, "billed", lambda d, p: d.billed_total(p.start, p.end)),
        "deepgram": (LAST_MONTH, "billed", lambda d, p: d.total(p.start, p.end)),
        "openrouter": (recent_days(), "billed", lambda d, p: d.total(p.start, p.end)),
        # converted line by line, each rounded to the ledger's 10^-9 (the rate is recorded on each line)
        "mistral": (
            LAST_MONTH,
            "billed",
            lambda d, p: sum(
                (quantize_money(eur * EUR_TO_USD) for eur in d.by_line_item(p.start, p.end).values()),
                Decimal(0),
            ),
        ),
    }
    for provider, (period, provenance, expected) in expectations.items():
        answer = costs(env, provider, period)
        assert Decimal(answer["by_provenance"][provenance]) == expected(dataset(served, provider), period), (
            provider
        )
        assert answer["status"] == "complete", (provider, answer["reasons"])
        counted = sum((Decimal(item["amount"]) for item in answer["breakdown"] if item["amount"]), Decimal(0))
        assert counted == Decimal(answer["total"]), provider


def test_a_revoked_workspace_makes_the_run_partial_and_exit_1(
    loopback: tuple[dict[str, str], list[Served]],
) -> None:
    env, served = loopback
    revoked = env["OPENAI_ADMIN_KEY_STORYGAMI"]
    next(item for item in served if item.key == "openai").emulator.config.revoked_keys.add(revoked)
    result = run(env, "collect", "--month", "2026-10", "--provider", "openai", "--json")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["status"] == "partial"
    failed = [o for o in body["outcomes"] if o["status"] == "failed"]
    assert [o["account"] for o in failed] == ["Storygami"]
    assert revoked not in result.stdout + result.stderr
    listing = run(env, "runs", "--last", "5")
    assert listing.returncode == 0 and "Storygami" in listing.stdout


def test_costs_of_a_period_never_collected_say_unknown(loopback: tuple[dict[str, str], list[Served]]) -> None:
    env, _ = loopback
    assert run(env, "collect", "--month", "2026-10", "--provider", "deepgram").returncode == 0
    answer = costs(env, "deepgram", Period.month(2025, 3))
    assert (answer["status"], answer["total"]) == ("unknown", None)
