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
