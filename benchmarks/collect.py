"""How fast a collection is, against its lower bound and a sequential collection.

Every emulator answers after ``--latency-ms`` (100 ms) with small pages; OpenAI has 3 workspaces
of 20 projects. We measure:

* the wall time of a normal collection (everything concurrent, within each provider's limits);
* the lower bound: the longest chain of requests that must follow one another (the pages of one
  endpoint) x latency, or, when higher, a provider's requests / its allowed rate;
* the time of a sequential collection (one provider, one request at a time);

and check that no emulator saw more concurrent requests, or more requests per second, than the
source's own limit allows.

    .venv/bin/python benchmarks/collect.py [--latency-ms 100] [--days 31]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from costtracker.clock import today
from costtracker.collect.engine import CollectionEngine
from costtracker.emulators import emulator_module
from costtracker.emulators.serve import bind, emulated_keys
from costtracker.http import RateLimit
from costtracker.settings import Settings
from costtracker.sources import load_source
from costtracker.sources.base import Period
from costtracker.store.db import make_engine, session_factory
from costtracker.store.migrate import upgrade


@dataclass
class Measure:
    seconds: float
    requests: int
    longest_chain: int
    stats: dict[str, dict[str, Any]]  # provider -> what its emulator saw


@dataclass
class Emulators:
    """The emulators, served by another process (``costtracker emulate``) so they do not share our CPU."""

    origins: dict[str, str]

    def stats(self) -> dict[str, dict[str, Any]]:
        return {key: httpx.get(f"{origin}/_emulator/stats").json() for key, origin in self.origins.items()}

    def reset(self) -> None:
        for origin in self.origins.values():
            httpx.post(f"{origin}/_emulator/reset")


def free_port_range(count: int) -> int:
    """A first port such that ``count`` consecutive ports are free."""
    for first in range(20000, 60000, 97):
        try:
            sockets = [bind(first + offset) for offset in range(count)]
        except OSError:
            continue
        for sock in sockets:
            sock.close()
        return first
    raise RuntimeError("no free ports")


@contextmanager
def emulators(latency_ms: int) -> Iterator[Emulators]:
    keys = emulated_keys()
    first = free_port_range(len(keys))
    command = [
        sys.executable,
        "-m",
        "costtracker",
        "emulate",
        "--port",
        str(first),
        "--latency-ms",
        str(latency_ms),
        "--page-size",
        "7",
        "--projects-per-workspace",
        "20",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    served = Emulators({key: f"http://127.0.0.1:{first + index}" for index, key in enumerate(keys)})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                served.stats()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the emulators did not start") from None
                time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        process.wait(30)


def configure(served: Emulators, database: Path) -> Settings:
    for key, origin in served.origins.items():
        os.environ.update(emulator_module(key).DEMO_ENV)
        os.environ[f"COSTTRACKER_{key.upper()}_BASE_URL"] = origin
    os.environ["COSTTRACKER_DATABASE_URL"] = f"sqlite:///{database}"
    engine = make_engine(os.environ["COSTTRACKER_DATABASE_URL"])
    upgrade(engine)
    engine.dispose()
    return Settings(_env_file=None)


async def measure(settings: Settings, served: Emulators, period: Period, *, sequential: bool) -> Measure:
    served.reset()
    sessions = session_factory(make_engine(settings.effective_database_url))
    keys = list(served.origins)
    started = time.monotonic()
    if sequential:
        for key in keys:
            one = CollectionEngine(settings, sessions, rate_limit=RateLimit(concurrency=1, per_second=1000))
            await one.run(period, providers=[key], trigger="manual")
    else:
        result = await CollectionEngine(settings, sessions).run(period, providers=keys, trigger="manual")
        for outcome in result.outcomes:
            print(
                f"  {outcome.provider} ({outcome.account}): {outcome.status.value} "
                f"{outcome.duration_ms / 1000:.1f} s, {outcome.requests} requests"
            )
    elapsed = time.monotonic() - started
    stats = served.stats()
    return Measure(
        elapsed,
        sum(s["requests"] for s in stats.values()),
        max(s["longest_chain"] for s in stats.values()),
        stats,
    )


def lower_bound(measured: Measure, latency: float) -> tuple[float, str]:
    chain = measured.longest_chain * latency
    by_rate = {
        key: stats["requests"] / load_source(key).rate_limit.per_second
        for key, stats in measured.stats.items()
    }
    slowest = max(by_rate, key=lambda key: by_rate[key])
    if by_rate[slowest] > chain:
        return by_rate[
            slowest
        ], f"{slowest}'s {measured.stats[slowest]['requests']} requests / its rate limit"
    return chain, f"longest chain of {measured.longest_chain} dependent requests x {latency * 1000:.0f} ms"


def limit_lines(measured: Measure) -> tuple[list[str], list[str]]:
    lines, problems = [], []
    for key, stats in sorted(measured.stats.items()):
        limit = load_source(key).rate_limit
        line = (
            f"{key}: peak {stats['peak_in_flight']} in flight (limit {limit.concurrency}), "
            f"{stats['peak_per_second']}/s in any second (limit {limit.per_second:g}/s)"
        )
        lines.append(line)
        if stats["peak_in_flight"] > limit.concurrency or stats["peak_per_second"] > limit.per_second + 1:
            problems.append(line)
    return lines, problems


async def main(latency_ms: int, days: int) -> int:
    period = Period(today() - timedelta(days=days), today() - timedelta(days=1))
    with tempfile.TemporaryDirectory() as folder, emulators(latency_ms) as served:
        settings = configure(served, Path(folder) / "bench.db")
        concurrent = await measure(settings, served, period, sequential=False)
        sequential = await measure(settings, served, period, sequential=True)
    bound, why = lower_bound(concurrent, latency_ms / 1000)
    lines, problems = limit_lines(concurrent)
    print(
        f"period {period.start} .. {period.end}, {latency_ms} ms latency, page size 7, "
        f"OpenAI 3 workspaces x 20 projects, {len(served.origins)} providers"
    )
    print(f"requests                 {concurrent.requests}")
    print(f"concurrent wall time     {concurrent.seconds:6.2f} s")
    print(f"lower bound              {bound:6.2f} s  ({why})")
    print(f"sequential               {sequential.seconds:6.2f} s")
    print(f"concurrent / bound       {concurrent.seconds / bound:6.2f}x  (target <= 1.2x)")
    print(f"sequential / concurrent  {sequential.seconds / concurrent.seconds:6.1f}x")
    for line in lines:
        print(f"  {line}")
    print("rate limits respected" if not problems else "RATE LIMIT EXCEEDED")
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--days", type=int, default=31)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.latency_ms, arguments.days)))
