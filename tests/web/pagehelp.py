"""Reading the explorer's pages in tests: signed-in clients and the figures a page shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from costtracker.settings import Settings
from costtracker.web.app import create_app
from tests.conftest import Db
from tests.web.authhelp import add_user, sign_in, use_cheap_hashing

TOTAL = re.compile(r'id="total".*?data-total="([^"]*)" data-status="([^"]*)"', re.DOTALL)


@contextmanager
def signed_in(
    db: Db, settings: Settings, monkeypatch: pytest.MonkeyPatch, role: str = "viewer"
) -> Iterator[TestClient]:
    use_cheap_hashing(monkeypatch)
    add_user(db, f"{role}@example.com", role)
    with TestClient(create_app(settings), headers={"Accept-Language": "en"}) as client:
        sign_in(client, db, f"{role}@example.com")
        yield client


def shown_total(html: str) -> tuple[str, str]:
    """The big total's exact amount ('' when it shows "no data") and its status."""
    found = TOTAL.search(html)
    assert found, "no total on the page"
    return found.group(1), found.group(2)
