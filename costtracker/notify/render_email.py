"""The monthly report as an e-mail: HTML and plain text (Jinja), the inline chart, the CSV.

Both bodies tell the same summary and link to the full report page. A provider that could not
be collected is listed as such with its reason, its amount reads "unknown" (never $0.00) and the
total says it leaves it out. The message is rendered once per send, so every retry (and Resend's
idempotency check) sees the very same body.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from costtracker.notify.chart import trend_png
from costtracker.reports.model import MonthlyReport, ProviderReport
from costtracker.reports.view import STATUS_LABELS, Formatter

CHART_CID = "report-chart"
PROBLEMS = ("failed", "partial", "unavailable")
LABELS = {**STATUS_LABELS, "success": "OK"}  # the page's labels; "OK" reads better in a table


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str
    content_id: str | None = None  # set: shown inline, referenced as cid:<content_id> in the HTML


@dataclass(frozen=True)
class Email:
    subject: str
    html: str
    text: str
    attachments: tuple[Attachment, ...] = field(default=())


def money(amount: Decimal | None, currency: str) -> str:
    """``$1,234.56``; an unknown amount is "unknown", never $0.00 (the page's formatter)."""
    return Formatter(currency).money(amount)


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("costtracker.notify", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _provider_row(provider: ProviderReport) -> dict[str, Any]:
    return {
        "name": provider.name,
        "status": provider.status,
        "status_label": LABELS.get(provider.status, provider.status),
        "problem": provider.status in PROBLEMS,
        "total": provider.total,
        "previous": provider.previous,
        "change": provider.change,
        "change_pct": provider.change_pct,
        "reason": provider.reason,
        "estimated": provider.provenance.get("estimated"),
        "unpriced_lines": provider.unpriced_lines,
        "top_models": [line.model for line in provider.top_models[:3]],
    }


def context(report: MonthlyReport, url: str) -> dict[str, Any]:
    rows = [_provider_row(provider) for provider in report.providers]
    fmt = Formatter(report.currency)
    return {
        "report": report,
        "fmt": fmt,
        "month_label": fmt.month(report.month),
        "previous_label": fmt.month(report.previous_month),
        "rows": rows,
        "problems": [row for row in rows if row["problem"]],
        "estimated": sum((row["estimated"] or Decimal(0) for row in rows), Decimal(0)),
        "url": url,
        "chart_cid": CHART_CID,
    }


def subject(report: MonthlyReport) -> str:
    fmt = Formatter(report.currency)
    text = f"AI costs, {fmt.month(report.month)}: {fmt.money(report.total)}"
    if report.change_pct is not None:
        text += f" ({fmt.pct(report.change_pct)})"
    problems = sum(provider.status in PROBLEMS for provider in report.providers)
    if problems:
        text += f", {problems} provider{'s' if problems > 1 else ''} not fully collected"
    return text


def render_report(report: MonthlyReport, *, url: str) -> Email:
    """The report e-mail: summary, per-provider table, inline chart, CSV of every project."""
    env, values = environment(), context(report, url)
    return Email(
        subject=subject(report),
        html=env.get_template("report_email.html").render(values),
        text=env.get_template("report_email.txt").render(values),
        attachments=(
            Attachment("costs-chart.png", trend_png(report), "image/png", content_id=CHART_CID),
            Attachment(f"costs-{report.month}.csv", report_csv(report), "text/csv"),
        ),
    )


def render_test(sender: str) -> Email:
    """A small message that proves the transport works (``costtracker email test``)."""
    env = environment()
    values = {"sender": sender}
    return Email(
        subject="costtracker test message",
        html=env.get_template("test_email.html").render(values),
        text=env.get_template("test_email.txt").render(values),
    )


CSV_COLUMNS = (
    "month",
    "provider",
    "provider_key",
    "workspace",
    "project",
    "project_id",
    "status",
    "amount",
    "currency",
    "previous",
    "requests",
    "input_tokens",
    "output_tokens",
    "models",
    "log",
)


def report_csv(report: MonthlyReport) -> bytes:
    """One row per provider and project; an unknown amount is an empty cell beside its status."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for provider in report.providers:
        for row in _csv_rows(report, provider):
            writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _plain(amount: Decimal | None) -> str:
    return "" if amount is None else format(amount, "f")


def _csv_rows(report: MonthlyReport, provider: ProviderReport) -> list[list[str]]:
    head = [report.month, provider.name, provider.key]
    if not provider.projects:
        return [
            [
                *head,
                "",
                "",
                "",
                provider.status,
                _plain(provider.total),
                report.currency,
                _plain(provider.previous),
                "",
                "",
                "",
                "",
                provider.reason or "",
            ]
        ]
    return [
        [
            *head,
            project.workspace or "",
            project.project,
            project.project_id,
            project.status,
            _plain(project.total),
            report.currency,
            _plain(project.previous),
            str(project.requests),
            str(project.input_tokens),
            str(project.output_tokens),
            ", ".join(project.models),
            project.log,
        ]
        for project in provider.projects
    ]
