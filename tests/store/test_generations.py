"""The generation counters caches compare: bumped in the transaction of every collection write."""

from __future__ import annotations

from datetime import date

from costtracker.collect.writer import record_coverage, record_failure_coverage
from costtracker.sources.base import Period
from costtracker.store.generations import bump_generation, generations
from tests.conftest import Db

DAYS = Period(date(2026, 1, 1), date(2026, 1, 3))


def test_it_counts_changes_per_provider(db: Db) -> None:
    with db.sessions.begin() as session:
        assert generations(session) == {}
        bump_generation(session, "openai")
        bump_generation(session, "openai")
        bump_generation(session, "anthropic")
    with db.sessions() as session:
        assert generations(session) == {"openai": 2, "anthropic": 1}


def test_every_coverage_write_of_a_collection_bumps_its_provider(db: Db) -> None:
    with db.sessions.begin() as session:
        record_coverage(
            session,
            provider="openai",
            credential="Edugami",
            period=DAYS,
            status="success",
            reason=None,
            run_id=None,
        )
        record_failure_coverage(
            session, provider="deepgram", credential="default", period=DAYS, reason="401", run_id=None
        )
    with db.sessions() as session:
        assert generations(session) == {"openai": 1, "deepgram": 1}


def test_a_write_rolled_back_leaves_the_generation_alone(db: Db) -> None:
    try:
        with db.sessions.begin() as session:
            bump_generation(session, "openai")
            raise RuntimeError("the collection crashed before its commit")
    except RuntimeError:
        pass
    with db.sessions() as session:
        assert generations(session) == {}
