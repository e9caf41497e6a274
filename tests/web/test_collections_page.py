"""The collection panel: the runs with their outcomes; the button for admins only."""

from __future__ import annotations

import pytest

from tests.conftest import Db
from tests.web.collected import FAILED_WORKSPACE, collect_everything
from tests.web.pagehelp import signed_in


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_it_lists_the_runs_with_their_outcomes_and_offers_collection_to_admins(
    db: Db, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    settings = collect_everything(db, monkeypatch)
    with signed_in(db, settings, monkeypatch, role) as client:
        page = client.get("/collections").text
    assert 'data-run="1" open' in page
    assert f"<td>{FAILED_WORKSPACE}</td>" in page and "Failed" in page
    assert ('id="collect-form"' in page) == (role == "admin")
    assert ("Only an admin can start a collection" in page) == (role == "viewer")
    assert '<script src="/static/collections.js" defer></script>' in page


def test_it_shows_the_reports_that_could_not_be_delivered(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    from costtracker.store.models import Delivery

    settings = collect_everything(db, monkeypatch)
    with db.sessions.begin() as session:
        session.add(
            Delivery(
                month="2026-10",
                channel="smtp",
                recipient="ceo@example.com",
                idempotency_key="k",
                status="failed",
                attempts=3,
                last_error="SMTP 451: try again later",
            )
        )
        session.add(
            Delivery(
                month="2026-10",
                channel="smtp",
                recipient="cto@example.com",
                idempotency_key="k2",
                status="sent",
                attempts=1,
            )
        )
    with signed_in(db, settings, monkeypatch, "viewer") as client:
        page = client.get("/collections").text
    assert 'id="deliveries"' in page
    assert "ceo@example.com" in page and "SMTP 451: try again later" in page
    assert "cto@example.com" not in page
