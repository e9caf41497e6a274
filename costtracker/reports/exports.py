"""Exports: the cost lines as CSV (any filter, any period) and the month report as PDF.

The CSV has one row per ledger line, every amount exact (decimal text, never rounded), with
its provenance and whether it counts in totals, so adding ``amount_<currency>`` over the rows
with ``counted = true`` gives back the totals of the report and of ``costtracker costs``. Text
cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) get a
leading apostrophe; numbers are left alone.

The PDF is the report page itself (same template, print styles) laid out by WeasyPrint, which
may only read our own static files: no network, whatever the HTML says.
"""

from __future__ import annotations

import csv
import io
import logging
import mimetypes
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from costtracker.errors import InvalidInput
from costtracker.sources.base import Period
from costtracker.store.models import Account, CostLine, Project, Provider
from costtracker.store.queries import COUNTED, find_provider, resolve_scope

STATIC = Path(__file__).parent.parent / "web" / "static"
PDF_ORIGIN = "https://costtracker.invalid/"  # never fetched: mapped to STATIC by _fetch
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000


@dataclass(frozen=True)
class LineFilter:
    """Which cost lines: a period, and optionally providers, one workspace and one project."""

    period: Period
    providers: list[str] = field(default_factory=list)  # empty: every provider
    workspace: str | None = None
    project: str | None = None


def columns(currency: str) -> list[str]:
    return [
        "day",
        "provider",
        "workspace",
        "workspace_id",
        "project",
        "project_id",
        "model",
        "line_item",
        "provenance",
        "counted",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "requests",
        "characters",
        "audio_seconds",
        "amount",
        "currency",
        f"amount_{currency.lower()}",
        "fx_rate",
        "fx_source",
        "price_table",
        "price_table_version",
        "collected_at",
    ]


def lines_query(session: Session, chosen: LineFilter) -> Select[*tuple[Any, ...]]:
    """The lines of ``chosen``, in a stable order (day, provider, workspace, project, model)."""
    query: Select[*tuple[Any, ...]] = (
        select(CostLine, Provider.key, Account.name, Account.external_id, Project.name)
        .join(Provider, CostLine.provider_id == Provider.id)
        .join(Account, CostLine.account_id == Account.id)
        .outerjoin(Project, CostLine.project_id == Project.id)
        .where(CostLine.day >= chosen.period.start, CostLine.day <= chosen.period.end)
        .order_by(
            CostLine.day,
            Provider.key,
            Account.name,
            CostLine.project_key,
            CostLine.model,
            CostLine.line_item,
            CostLine.provenance,
        )
    )
    if chosen.workspace or chosen.project:
        if len(chosen.providers) != 1:
            raise InvalidInput("provider", "a workspace or project filter needs exactly one provider")
        scope = resolve_scope(
            session,
            provider=chosen.providers[0],
            workspace=chosen.workspace,
            project=chosen.project,
            start=chosen.period.start,
            end=chosen.period.end,
        )
        query = query.where(CostLine.provider_id == scope.provider.id)
        if scope.account is not None:
            query = query.where(CostLine.account_id == scope.account.id)
        if scope.project is not None:
            query = query.where(CostLine.project_id == scope.project.id)
    elif chosen.providers:
        ids = [find_provider(session, key).id for key in chosen.providers]
        query = query.where(CostLine.provider_id.in_(ids))
    return query


def csv_chunks(session: Session, chosen: LineFilter, *, currency: str) -> Iterator[str]:
    """The CSV text, a few hundred rows at a time (for streaming a long period)."""
    query = lines_query(session, chosen)  # validated before the first byte goes out
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns(currency))
    for number, row in enumerate(session.execute(query.execution_options(yield_per=BATCH)), start=1):
        writer.writerow(_cells(*row))
        if number % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_csv(session: Session, chosen: LineFilter, out: io.TextIOBase | Any, *, currency: str) -> None:
    for chunk in csv_chunks(session, chosen, currency=currency):
        out.write(chunk)


def counted_total(rows: list[dict[str, str]], currency: str) -> Decimal:
    """What the rows of an exported CSV add up to, the way totals count (billed, estimated, manual)."""
    column = f"amount_{currency.lower()}"
    return sum(
        (
            Decimal(row[column])
            for row in rows
            if row["counted"] == "true" and row["provenance"] in COUNTED and row[column]
        ),
        Decimal(0),
    )


def _cells(
    line: CostLine, provider: str, workspace: str, workspace_id: str, project: str | None
) -> list[str]:
    return [
        line.day.isoformat(),
        provider,
        _text(workspace),
        _text(workspace_id),
        _text(project or ""),
        _text(line.project_key),
        _text(line.model),
        _text(line.line_item),
        line.provenance,
        "true" if line.in_total else "false",
        *(
            _number(getattr(line, name))
            for name in (
                "input_tokens",
                "output_tokens",
                "cached_input_tokens",
                "cache_write_tokens",
                "requests",
                "characters",
                "audio_seconds",
                "amount",
            )
        ),
        line.currency,
        _number(line.amount_usd),
        _number(line.fx_rate),
        _text(line.fx_source or ""),
        _text(line.price_table or ""),
        _text(line.price_table_version or ""),
        line.collected_at.isoformat() if line.collected_at else "",
    ]


def _number(value: int | Decimal | None) -> str:
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


# --- PDF --------------------------------------------------------------------------------------


def pdf_from_html(html: str) -> bytes:
    """Lay the report page out as PDF (A4, the page's print styles)."""
    with warnings.catch_warnings():  # an older system without HarfBuzz-Subset still makes PDFs
        warnings.filterwarnings("ignore", message=".*HarfBuzz-Subset", category=DeprecationWarning)
        from weasyprint import HTML
    # app.css's screen-only media features (dark mode, narrow screens) mean nothing on paper:
    # WeasyPrint says so at WARNING for every page, which is noise in the server's log
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    document: bytes = HTML(string=html, base_url=PDF_ORIGIN, url_fetcher=_static_fetcher()).write_pdf()
    return document


def _static_fetcher() -> Any:
    """A WeasyPrint fetcher that reads ``/static/...`` from disk and refuses everything else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith(PDF_ORIGIN + "static/"):
                raise ValueError(f"the PDF may not load {url!r}")
            relative = url[len(PDF_ORIGIN + "static/") :].split("?", 1)[0]
            path = (STATIC / relative).resolve()
            if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
                raise ValueError(f"no static file {relative!r}")
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    return StaticOnly(allowed_protocols=("https",))
