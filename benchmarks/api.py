"""How fast the explorer and the overview answer at any history size (cache off).

Generates the ledger the issue describes (2 million cost lines: 3 years, 10 providers, 50
projects, 30 models; see ``api_data.py``) on SQLite and on PostgreSQL, serves the app on
loopback with ``COSTTRACKER_CACHE_SECONDS=0`` and times each endpoint over a month, a quarter, a
year and an unaligned 30 days (whole months are read from the rollups, other days from the
lines), then prints p50/p95 in milliseconds as a Markdown table.

    .venv/bin/python -m benchmarks.api [--runs 40] [--sqlite-only] [--postgres-url URL]

PostgreSQL: a schema of its own in the given database, dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.api_data import Shape, load
from benchmarks.serving import serving
from costtracker.auth.principal import Scope
from costtracker.auth.tokens import create_token
from costtracker.settings import Settings
from costtracker.store.db import make_engine, session_factory
from costtracker.store.migrate import upgrade
from costtracker.web.app import create_app

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PERIODS = {
    "month": ("2025-11-01", "2025-11-30"),
    "quarter": ("2025-07-01", "2025-09-30"),
    "year": ("2025-01-01", "2025-12-31"),
    "30 days": ("2025-10-17", "2025-11-15"),
}
ENDPOINTS = {
    "explorer: /api/costs (provider)": ("/api/costs", {"provider": "bench-04"}),
    "explorer: /api/costs (project)": ("/api/costs", {"provider": "bench-04", "project": "proj-04-2"}),
    "explorer: /api/costs/workspace": ("/api/costs/workspace", {"provider": "bench-04"}),
    "explorer: /api/costs/daily": ("/api/costs/daily", {"provider": "bench-04"}),
    "overview: /api/overview": ("/api/overview", {}),
    "overview: /api/costs/daily (all)": ("/api/costs/daily", {}),
}


@dataclass
class Timing:
    endpoint: str
    period: str
    p50: float
    p95: float


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def prepare(url: str, shape: Shape) -> tuple[str, float]:
    """Migrate and fill the database; returns a read token and the seconds the load took."""
    engine = make_engine(url)
    upgrade(engine)
    started = time.monotonic()
    count = load(engine, shape)
    seconds = time.monotonic() - started
    print(
        f"  {count:,} cost lines loaded in {seconds:.0f} s (the rollups kept by the triggers, then checked)"
    )
    with session_factory(engine)() as session:
        _, token = create_token(session, "benchmark", Scope.READ, actor="benchmark")
        session.commit()
    engine.dispose()
    return token, seconds


def measure(url: str, token: str, runs: int) -> list[Timing]:
    data = Path(tempfile.mkdtemp())
    settings = Settings(
        _env_file=None, database_url=url, cache_seconds=0, data_dir=data, secret_key="benchmark-" * 4
    )
    timings = []
    with (
        serving(create_app(settings)) as origin,
        httpx.Client(base_url=origin, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client,
    ):
        for name, (path, params) in ENDPOINTS.items():
            for period, (start, end) in PERIODS.items():
                query = params | {"start": start, "end": end}
                for _ in range(3):  # warm up: connections, the database's own caches
                    client.get(path, params=query).raise_for_status()
                samples = []
                for _ in range(runs):
                    began = time.perf_counter()
                    response = client.get(path, params=query)
                    samples.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200 and response.headers["x-cache"] == "off", response.text
                samples.sort()
                p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
                timings.append(Timing(name, period, statistics.median(samples), p95))
    return timings


def table(results: dict[str, list[Timing]]) -> str:
    periods = list(PERIODS)
    header = "| endpoint | database | " + " | ".join(f"{p} p50 / p95" for p in periods) + " |"
    lines = [header, "|" + " --- |" * (2 + len(periods))]
    for name in ENDPOINTS:
        for database, timings in results.items():
            cells = {t.period: f"{t.p50:.1f} / {t.p95:.1f}" for t in timings if t.endpoint == name}
            lines.append(f"| {name} | {database} | " + " | ".join(cells[p] for p in periods) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40, help="requests per endpoint and period")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-url", default=POSTGRES)
    parser.add_argument("--days", type=int, default=Shape.days, help="history length (1096: 3 years)")
    args = parser.parse_args()
    shape = Shape(days=args.days)
    days = f"{shape.days} days ({shape.first_day} .. {shape.last_day})"
    print(f"ledger: {shape.expected_lines():,} cost lines over {days}")
    results: dict[str, list[Timing]] = {}
    databases = {"SQLite": sqlite_database()}
    if not args.sqlite_only:
        databases["PostgreSQL"] = postgres_database(args.postgres_url)
    for name, database in databases.items():
        print(f"{name}:")
        with database as url:
            token, _ = prepare(url, shape)
            results[name] = measure(url, token, args.runs)
    print()
    print(f"p50 / p95 in ms, {args.runs} requests each, cache off")
    print(table(results))
    worst = max(t.p95 for timings in results.values() for t in timings)
    print(f"\nworst p95: {worst:.1f} ms (target: 50 ms)")


if __name__ == "__main__":
    main()
