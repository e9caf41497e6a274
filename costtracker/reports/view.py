"""The report shaped for its template (``report.html``): the page and the PDF render the same.

Amounts are formatted with Babel (the locale will follow the user's language); bar lengths are
computed with ``Decimal`` and written as percentages, so the charts need no JavaScript (the PDF,
printing, a blocked script) while the page adds Plotly's interactive charts on top of them. An
unknown amount is written "unknown" and drawn as an empty bar, never as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape

from costtracker.reports.model import Drivers, MonthlyReport

TEMPLATES = Path(__file__).parent.parent / "web" / "templates"
STATUS_LABELS = {
    "success": "Collected",
    "partial": "Partial",
    "failed": "Failed",
    "unavailable": "Data unavailable",
    "skipped": "Not configured",
    "complete": "Complete",
    "unknown": "Unknown",
}
DRIVER_LABELS = (
    ("volume", "Volume", "more or fewer units at last month's unit prices"),
    ("price", "Price", "unit prices that changed"),
    ("mix", "Mix", "usage that moved between a provider's models"),
    ("new", "New", "models or providers that appeared this month"),
    ("gone", "Gone", "models or providers that disappeared"),
)
HUNDRED = Decimal(100)
TENTH = Decimal("0.1")


class Formatter:
    """Money, changes, percentages and months in one locale and the report's currency."""

    def __init__(self, currency: str, locale: str = "en") -> None:
        self.currency = currency
        self.locale = locale

    def money(self, amount: Decimal | None, unknown: str = "unknown") -> str:
        if amount is None:
            return unknown
        return str(format_currency(amount, self.currency, locale=self.locale))

    def signed(self, amount: Decimal | None) -> str:
        if amount is None:
            return "—"
        return ("+" if amount > 0 else "") + self.money(amount)

    def pct(self, value: Decimal | None) -> str:
        if value is None:
            return ""
        return (
            ("+" if value > 0 else "")
            + str(format_decimal(value, format="#,##0.0", locale=self.locale))
            + " %"
        )

    def number(self, value: int | None) -> str:
        return "" if not value else str(format_decimal(value, locale=self.locale))

    def month(self, month: str) -> str:
        year, number = month.split("-")
        return str(format_date(date(int(year), int(number), 1), "MMMM y", locale=self.locale))

    @staticmethod
    def arrow(change: Decimal | None) -> str:
        """up (costs more), down (costs less), flat, or none (not compared)."""
        if change is None:
            return "none"
        return "up" if change > 0 else "down" if change < 0 else "flat"

    @staticmethod
    def status(status: str) -> str:
        return STATUS_LABELS.get(status, status)


@dataclass(frozen=True)
class Links:
    """Where the page's buttons go; a signed-link viewer gets the same signature on the exports."""

    pdf: str | None = None
    csv: str | None = None
    previous: str | None = None
    next: str | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    amount: Decimal | None
    size: str  # percentage of the longest bar, "0.0" to "100.0"; "" when unknown
    status: str = "complete"


def bars(values: list[tuple[str, Decimal | None, str]]) -> list[Bar]:
    largest = max((amount for _, amount, _ in values if amount is not None and amount > 0), default=None)
    found = []
    for label, amount, status in values:
        size = ""
        if amount is not None and largest is not None:
            size = str(
                (max(amount, Decimal(0)) * HUNDRED / largest).quantize(TENTH, rounding=ROUND_HALF_EVEN)
            )
        found.append(Bar(label, amount, size, status))
    return found


@dataclass(frozen=True)
class Column:
    label: str
    amount: Decimal | None
    known: bool
    x: int
    y: int
    width: int
    height: int
    colour: str

    @property
    def middle(self) -> int:
        return self.x + self.width // 2


@dataclass(frozen=True)
class ColumnChart:
    """A small SVG bar chart computed here (integers only), so it needs no script to show."""

    columns: list[Column]
    width: int = 600
    height: int = 210
    baseline: int = 185
    tallest: int = 150

    @classmethod
    def of(cls, trend: list[Bar]) -> ColumnChart:
        chart = cls([])
        slot = chart.width // max(len(trend), 1)
        for index, bar in enumerate(trend):
            known = bool(bar.size)
            height = int(Decimal(bar.size or "20") * chart.tallest / HUNDRED) if known else chart.tallest // 4
            colour = "#3b5bdb" if index == len(trend) - 1 else "#93b4f0"
            chart.columns.append(
                Column(
                    label=bar.label,
                    amount=bar.amount,
                    known=known,
                    x=index * slot + slot // 5,
                    y=chart.baseline - height,
                    width=slot * 3 // 5,
                    height=height,
                    colour=colour if bar.status == "complete" else "#c8d3e6",
                )
            )
        return chart


def driver_rows(drivers: Drivers | None) -> list[dict[str, Any]]:
    if drivers is None:
        return []
    return [
        {"key": key, "label": label, "amount": getattr(drivers, key), "help": help_text}
        for key, label, help_text in DRIVER_LABELS
    ]


def chart_data(report: MonthlyReport) -> dict[str, Any]:
    """What ``report.js`` draws with Plotly (amounts as decimal strings, unknown as null)."""
    return {
        "currency": report.currency,
        "split": [{"name": p.name, "amount": format(p.total, "f")} for p in report.providers if p.total],
        "trend": [
            {"month": t.month, "total": None if t.total is None else format(t.total, "f"), "status": t.status}
            for t in report.trend
        ],
    }


def report_context(
    report: MonthlyReport, *, links: Links, printing: bool, locale: str = "en"
) -> dict[str, Any]:
    """Everything ``report.html`` uses."""
    known = [p for p in report.providers if p.total is not None]
    return {
        "report": report,
        "fmt": Formatter(report.currency, locale),
        "links": links,
        "printing": printing,
        "split": bars([(p.name, p.total, p.status) for p in known]),
        "trend_svg": ColumnChart.of(bars([(t.month, t.total, t.status) for t in report.trend])),
        "drivers": driver_rows(report.drivers),
        "chart_data": chart_data(report),
    }


def template_environment() -> Environment:
    """The templates outside the web app (CLI PDF export), with the same translation hooks."""
    from costtracker.web.i18n import install_i18n

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    install_i18n(env)
    env.globals["csrf_field"] = lambda *_: ""
    return env


def render_report(
    report: MonthlyReport, *, links: Links, printing: bool, env: Environment | None = None, **extra: Any
) -> str:
    template = (env or template_environment()).get_template("report.html")
    return template.render(**report_context(report, links=links, printing=printing), **extra)
