"""The API benchmark's ledger, at a tiny size: it loads, and its rollups match its lines."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from benchmarks.api_data import Shape, load
from costtracker.store.models import CostLine
from costtracker.store.queries import cost_summary, resolve_scope
from tests.conftest import Db


def test_it_loads_the_shape_it_says_with_exact_rollups(db: Db) -> None:
    shape = Shape(days=3, last_day=date(2026, 1, 31))
    assert load(db.engine, shape) == shape.expected_lines()  # load() also checks the rollups
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CostLine)) == shape.expected_lines()
        scope = resolve_scope(session, provider="bench-00", start=shape.first_day, end=shape.last_day)
        summary = cost_summary(session, scope)
    assert summary["status"] == "partial"  # its first workspace failed in the last month
    assert summary["total"] is not None and len(summary["breakdown"]) == shape.models
