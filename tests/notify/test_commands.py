"""``costtracker notion ...`` and ``costtracker email ...`` as a user runs them (subprocesses)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from costtracker.emulators.notion import DEMO_PARENT_PAGE, DEMO_TOKEN
from costtracker.emulators.serve import Served
from costtracker.store.db import make_engine, session_factory
from costtracker.store.migrate import upgrade
from costtracker.store.models import ReportSnapshot
from tests.notify.conftest import SmtpServer
from tests.notify.reports import monthly_report


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costtracker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.fixture
def closed_month(tmp_path: Path) -> dict[str, str]:
    """A data directory whose database holds the frozen report of 2026-01."""
    engine = make_engine(f"sqlite:///{tmp_path / 'costtracker.db'}")
    upgrade(engine)
    with session_factory(engine).begin() as session:
        session.add(ReportSnapshot(month="2026-01", data=monthly_report().to_dict()))
    engine.dispose()
    return {
        "COSTTRACKER_DATA_DIR": str(tmp_path),
        "COSTTRACKER_SECRET_KEY": "test-secret-key-0123456789abcdef",
    }


def test_notion_setup_prints_the_ids_that_sync_then_fills(
    emulator: Callable[..., Served], closed_month: dict[str, str]
) -> None:
    served = emulator("notion")
    env = {
        **closed_month,
        "NOTION_API_KEY": DEMO_TOKEN,
        "COSTTRACKER_NOTION_BASE_URL": served.origin,
        "COSTTRACKER_NOTION_REQUESTS_PER_SECOND": "50",
    }

    created = run(
        "notion",
        "setup",
        "--parent-page",
        f"https://www.notion.so/Costs-{DEMO_PARENT_PAGE.replace('-', '')}",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    ids = dict(re.findall(r"^(NOTION_\w+_DB_ID)=(\S+)$", created.stdout, re.MULTILINE))
    synced = run("notion", "sync", "--month", "2026-01", env={**env, **ids})

    assert synced.returncode == 0, synced.stderr
    report = monthly_report()
    rows = sum(max(1, len(p.projects)) for p in report.providers)
    assert f"{len(report.providers) + rows} pages created, 0 updated" in synced.stdout
    assert len(served.emulator.dataset.pages) == len(report.providers) + rows


def test_a_bad_parent_page_or_month_is_a_plain_usage_error(
    emulator: Callable[..., Served], tmp_path: Path
) -> None:
    served = emulator("notion")
    env = {
        "COSTTRACKER_DATA_DIR": str(tmp_path),
        "NOTION_API_KEY": DEMO_TOKEN,
        "COSTTRACKER_NOTION_BASE_URL": served.origin,
    }

    bad_page = run("notion", "setup", "--parent-page", "my page", env=env)
    bad_month = run("notion", "sync", "--month", "January", env=env)

    assert bad_page.returncode == 2 and "--parent-page" in bad_page.stderr
    assert bad_month.returncode == 2 and "YYYY-MM" in bad_month.stderr
    assert "Traceback" not in bad_page.stderr + bad_month.stderr


def test_email_send_sends_once_and_email_test_reaches_the_address(
    smtp_server: Callable[..., SmtpServer], closed_month: dict[str, str]
) -> None:
    server = smtp_server()
    env = {
        **closed_month,
        "COSTTRACKER_SMTP_HOST": server.host,
        "COSTTRACKER_SMTP_PORT": str(server.port),
        "REPORT_EMAIL_TO": "cfo@example.com",
    }

    first = run("email", "send", "--month", "2026-01", env=env)
    second = run("email", "send", "--month", "2026-01", env=env)
    tested = run("email", "test", "--to", "ops@example.com", env=env)

    assert first.returncode == 0 and re.search(r"cfo@example.com\s+sent\s+smtp", first.stdout), first.stderr
    assert second.returncode == 0 and "already sent" in second.stdout
    assert tested.returncode == 0, tested.stderr
    assert len(server.inbox.to("cfo@example.com")) == 1 and len(server.inbox.to("ops@example.com")) == 1
