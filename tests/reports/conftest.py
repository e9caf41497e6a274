"""Report fixtures: months collected from the emulators, or written straight into the ledger.

Real collections (``collect``) give realistic months with totals the emulators state exactly;
``Ledger`` writes a few lines and the coverage a collection would have left, for the cases an
emulator does not produce on demand (a price change, a model that appears, a failed month).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx
import pytest

from costtracker.collect.engine import CollectionEngine, RunResult
from costtracker.collect.writer import record_coverage, record_failure_coverage
from costtracker.emulators import emulator_module
from costtracker.emulators.base import EmulatorConfig
from costtracker.http import RetryPolicy
from costtracker.settings import Settings
from costtracker.sources.base import Period
from costtracker.store.ledger import ensure_account, ensure_project, ensure_provider, upsert_cost_lines
from tests.collect.conftest import InProcess, in_process
from tests.conftest import Db

__all__ = ["InProcess", "Ledger", "collect", "in_process", "ledger"]

JANUARY, FEBRUARY = Period.month(2026, 1), Period.month(2026, 2)


async def no_sleep(_seconds: float) -> None:
    return None


async def collect(
    db: Db,
    settings: Settings,
    transports: dict[str, httpx.AsyncBaseTransport],
    period: Period,
    providers: list[str] | None = None,
) -> RunResult:
    engine = CollectionEngine(
        settings,
        db.sessions,
        transports=transports,
        policy=RetryPolicy(max_retries=1, backoff_seconds=0),
        sleep=no_sleep,
    )
    return await engine.run(period, providers=providers)


def failing_transport(key: str, status: int = 401) -> httpx.AsyncBaseTransport:
    """An emulator of ``key`` that refuses every request (a revoked key, an outage)."""
    return httpx.ASGITransport(app=emulator_module(key).create_app(EmulatorConfig(always_status=status)))


@dataclass
class Ledger:
    """Writes a provider's month the way a collection would: lines, then day-by-day coverage."""

    db: Db

    def month(
        self,
        provider: str,
        period: Period,
        models: dict[str, tuple[str, int]],
        *,
        project: str = "",
        account: str = "default",
        status: str = "success",
    ) -> None:
        """``models``: model -> (amount in USD, tokens), written on the 15th."""
        with self.db.sessions.begin() as session:
            row = ensure_provider(session, key=provider, display_name=provider.title())
            home = ensure_account(
                session, provider=row, external_id=account, name=account.title(), meta={"credential": account}
            )
            found = (
                ensure_project(session, account=home, external_id=project, name=project.title())
                if project
                else None
            )
            upsert_cost_lines(
                session,
                [
                    {
                        "day": date(period.start.year, period.start.month, 15),
                        "provider_id": row.id,
                        "account_id": home.id,
                        "project_id": found.id if found else None,
                        "project_key": project,
                        "model": model,
                        "provenance": "billed",
                        "amount": Decimal(amount),
                        "amount_usd": Decimal(amount),
                        "input_tokens": tokens,
                        "output_tokens": 0,
                    }
                    for model, (amount, tokens) in models.items()
                ],
            )
            record_coverage(
                session,
                provider=provider,
                credential=account,
                period=period,
                status=status,
                reason=None if status == "success" else "some days could not be read",
                run_id=None,
            )

    def failed(self, provider: str, period: Period, reason: str, *, account: str = "default") -> None:
        with self.db.sessions.begin() as session:
            row = ensure_provider(session, key=provider, display_name=provider.title())
            ensure_account(
                session, provider=row, external_id=account, name=account.title(), meta={"credential": account}
            )
            record_failure_coverage(
                session, provider=provider, credential=account, period=period, reason=reason, run_id=None
            )


@pytest.fixture
def ledger(db: Db) -> Ledger:
    return Ledger(db)


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], db: Db) -> Callable[..., Settings]:
    def build(**values: object) -> Settings:
        return make_settings(database_url=db.url, **values)

    return build
