"""``costtracker demo``: the whole product on one machine, with no keys and no internet.

Every emulator is served on loopback, the sources are pointed at them exactly as a user would
configure real providers (keys and ``COSTTRACKER_<KEY>_BASE_URL``), the last three months are
collected into the demo's own SQLite file, a demo admin is created, and the app is served.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from costtracker.clock import today
from costtracker.collect.engine import CollectionEngine, RunResult
from costtracker.emulators.serve import Served, bind, emulated_keys, serve_emulators, server_for
from costtracker.settings import Settings, load_settings
from costtracker.sources.base import Period
from costtracker.store.db import make_engine, session_factory
from costtracker.store.migrate import upgrade

DEMO_EUR_RATE = "1.08"
DEMO_ADMIN_EMAIL = "demo@costtracker.local"
DEMO_ADMIN_PASSWORD = "demo-password"  # noqa: S105 - printed to the user on purpose, demo data only


def last_three_months() -> Period:
    """From the first day of the month two months ago to today."""
    now = today()
    first = now.replace(day=1)
    for _ in range(2):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, now)


def demo_environment(served: list[Served], data_dir: Path) -> dict[str, str]:
    env = {
        "COSTTRACKER_DEMO": "true",
        "COSTTRACKER_DATA_DIR": str(data_dir),
        "COSTTRACKER_DATABASE_URL": f"sqlite:///{(data_dir / 'costtracker-demo.db').as_posix()}",
        "COSTTRACKER_SECRET_KEY": secrets.token_hex(32),
        "COSTTRACKER_HTTP_BACKOFF_SECONDS": "0.2",
    }
    for item in served:
        env.update(item.environment())
    return env


def fresh_database(settings: Settings) -> None:
    path = settings.data_dir / "costtracker-demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    engine.dispose()


def seed_exchange_rates(settings: Settings) -> None:
    """Mistral's emulator bills in EUR: give the demo a (fixed, labelled) rate to convert it."""
    from costtracker.collect.fx import record_rate

    sessions = session_factory(make_engine(settings.effective_database_url))
    record_rate(
        sessions,
        currency="EUR",
        quote=settings.reporting_currency,
        rate=DEMO_EUR_RATE,
        day=last_three_months().start,
        source="demo: fixed rate, not a market rate",
    )


def create_demo_admin(settings: Settings) -> bool:
    """The demo admin, when access control is available (returns whether it was created)."""
    try:
        from costtracker.auth.users import ensure_admin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return False
    sessions = session_factory(make_engine(settings.effective_database_url))
    with sessions.begin() as session:
        ensure_admin(session, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    return True


async def collect_demo_data(settings: Settings, say: Callable[[str], None]) -> RunResult:
    sessions = session_factory(make_engine(settings.effective_database_url))
    period = last_three_months()
    say(f"collecting {period.start} .. {period.end} from the emulated providers ...")
    started = time.monotonic()
    result = await CollectionEngine(settings, sessions).run(period, trigger="manual")
    say(f"collected run #{result.run_id}: {result.status.value} in {time.monotonic() - started:.1f} s")
    for outcome in result.outcomes:
        where = f"{outcome.provider} ({outcome.account})" if outcome.account else outcome.provider
        say(f"  {where}: {outcome.status.value}" + (f" — {outcome.reason}" if outcome.reason else ""))
    return result


async def run_demo(*, host: str, port: int, data_dir: Path, say: Callable[[str], None]) -> None:
    from costtracker.web.app import create_app

    async with serve_emulators(emulated_keys()) as served:
        say(
            f"{len(served)} emulated providers on loopback: " + ", ".join(f"{s.key}:{s.port}" for s in served)
        )
        os.environ.update(demo_environment(served, data_dir))
        settings = load_settings()
        fresh_database(settings)
        seed_exchange_rates(settings)
        await collect_demo_data(settings, say)
        has_admin = create_demo_admin(settings)
        app_server = server_for(create_app(settings))
        sock = bind(port, host=host)
        say(f"\ncosttracker demo ready: http://{host}:{port}")
        if has_admin:
            say(f"sign in as {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        say("press Ctrl+C to stop")
        await app_server.serve(sockets=[sock])


def main(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Path = Path("data/demo"),
    say: Callable[[str], None] = print,
) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(run_demo(host=host, port=port, data_dir=data_dir, say=say))
    except KeyboardInterrupt:
        say("demo stopped")
