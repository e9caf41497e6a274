"""Exports: the CSV gives back the ledger's totals; the PDF opens and shows the month's total."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from costtracker.reports.exports import LineFilter, counted_total, pdf_from_html, write_csv
from costtracker.reports.model import MonthlyReport
from costtracker.reports.monthly import build_report
from costtracker.reports.view import Formatter, Links, render_report
from costtracker.settings import Settings
from costtracker.store.queries import cost_summary, resolve_scope
from tests.conftest import Db
from tests.reports.conftest import FEBRUARY, JANUARY, InProcess, Ledger, collect

POPPLER = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed"
)


def exported(db: Db, chosen: LineFilter) -> list[dict[str, str]]:
    out = io.StringIO()
    with db.sessions() as session:
        write_csv(session, chosen, out, currency="USD")
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def report(db: Db, month: str) -> MonthlyReport:
    with db.sessions() as session:
        return build_report(session, month, currency="USD")


def test_the_csv_of_collected_months_reimports_to_the_same_totals(
    db: Db, settings_for: Callable[..., Settings], in_process: Callable[..., InProcess]
) -> None:
    emulated = in_process(["openai", "anthropic", "deepgram"])
    asyncio.run(collect(db, settings_for(), emulated.transports, JANUARY))
    rows = exported(db, LineFilter(JANUARY))
    found = report(db, "2026-01")
    assert counted_total(rows, "USD") == found.total
    for provider in found.providers:
        mine = [row for row in rows if row["provider"] == provider.key]
        assert counted_total(mine, "USD") == provider.total
    with db.sessions() as session:
        scope = resolve_scope(
            session, provider="openai", workspace="Edugami", start=JANUARY.start, end=JANUARY.end
        )
        expected = Decimal(cost_summary(session, scope)["total"])
    edugami = exported(db, LineFilter(JANUARY, ["openai"], workspace="Edugami"))
    assert {row["workspace"] for row in edugami} == {"Edugami"} and counted_total(edugami, "USD") == expected


def test_the_csv_filters_by_project_and_period(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("10", 1000)}, project="tutor")
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("1.25", 100)}, project="tutor")
    ledger.month("openai", FEBRUARY, {"o3": ("7", 100)}, project="story")
    rows = exported(db, LineFilter(FEBRUARY, ["openai"], project="tutor"))
    assert [(row["day"], row["project"], row["amount_usd"]) for row in rows] == [
        ("2026-02-15", "Tutor", "1.25")
    ]


def test_text_a_spreadsheet_would_run_is_neutralised_but_numbers_are_not(db: Db, ledger: Ledger) -> None:
    ledger.month("openai", FEBRUARY, {'=HYPERLINK("http://x")': ("-2.5", 10)})
    row = exported(db, LineFilter(FEBRUARY))[0]
    assert row["model"] == '\'=HYPERLINK("http://x")' and row["amount"] == "-2.5"


@POPPLER
def test_the_pdf_opens_and_its_first_page_shows_the_months_total(
    db: Db, ledger: Ledger, tmp_path: Path
) -> None:
    ledger.month("openai", JANUARY, {"gpt-4o": ("1000", 10_000)})
    ledger.month("openai", FEBRUARY, {"gpt-4o": ("1234.5", 11_000), "o3": ("12.34", 50)})
    found = report(db, "2026-02")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(pdf_from_html(render_report(found, links=Links(), printing=True)))
    total = Formatter("USD").money(found.total)  # $1,246.84
    box = word_box(pdf, total)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    assert page.size[0] > 500 and page.size[1] > 700  # an A4 page
    assert ink(page, box) > 0.08, "the total's place on the page is blank"
    assert ink(page, (0, page.size[1] - 40, 40, page.size[1])) == 0  # a margin is white: the measure works


def word_box(pdf: Path, word: str) -> tuple[int, int, int, int]:
    """Where ``word`` is on page 1, in points (= pixels at 72 dpi), from poppler's text layer."""
    layout = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    for match in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', layout
    ):
        if match.group(5) == word:
            x0, y0, x1, y1 = (float(match.group(i)) for i in range(1, 5))
            return int(x0), int(y0), int(x1) + 1, int(y1) + 1
    raise AssertionError(f"{word!r} is not on the first page")


def ink(page: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of dark pixels in ``box``."""
    counts = page.crop(box).histogram()  # 256 grey levels
    return sum(counts[:128]) / max(sum(counts), 1)
