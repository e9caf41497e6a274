"""``costtracker report`` and ``costtracker export`` as a user runs them: a real subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.conftest import Db
from tests.reports.conftest import JANUARY, Ledger


def run(db: Db, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COSTTRACKER_DATABASE_URL": db.url, "COSTTRACKER_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "costtracker", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_report_closes_a_month_once_and_prints_it_as_json(db: Db, ledger: Ledger, tmp_path: Path) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10.5", 1000)})
    first = run(db, tmp_path, "report", "--month", "2026-01", "--json")
    assert first.returncode == 0, first.stderr
    body = json.loads(first.stdout)
    assert body["frozen_now"] is True and body["report"]["total"] == "10.5" and body["problems"] == []
    again = json.loads(run(db, tmp_path, "report", "--month", "2026-01", "--json").stdout)
    assert again["frozen_now"] is False and again["run_id"] == body["run_id"]


def test_report_of_a_month_not_over_exits_2_with_a_message(db: Db, tmp_path: Path) -> None:
    result = run(db, tmp_path, "report", "--month", "2999-01")
    assert result.returncode == 2 and "not over" in result.stderr and "Traceback" not in result.stderr


def test_report_with_send_but_no_mail_settings_exits_1_saying_what_is_missing(
    db: Db, ledger: Ledger, tmp_path: Path
) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10.5", 1000)})
    result = run(db, tmp_path, "report", "--month", "2026-01", "--send")
    assert result.returncode == 1 and "e-mail:" in result.stdout and "Traceback" not in result.stderr


def test_export_csv_and_pdf_write_their_files(db: Db, ledger: Ledger, tmp_path: Path) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10.5", 1000), "o3": ("2", 10)})
    result = run(
        db, tmp_path, "export", "csv", "--month", "2026-01", "--provider", "openai", "-o", "lines.csv"
    )
    assert result.returncode == 0, result.stderr
    with (tmp_path / "lines.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert sum(Decimal(row["amount_usd"]) for row in rows) == Decimal("12.5")
    result = run(db, tmp_path, "export", "pdf", "--month", "2026-01")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "costtracker-report-2026-01.pdf").read_bytes().startswith(b"%PDF-")


def test_export_with_a_bad_filter_exits_2_naming_it(db: Db, tmp_path: Path) -> None:
    result = run(db, tmp_path, "export", "csv", "--month", "2026-01", "--workspace", "Edugami")
    assert result.returncode == 2 and "provider" in result.stderr and "Traceback" not in result.stderr
