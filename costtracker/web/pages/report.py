"""The report page ``/report/YYYY-MM`` with its PDF and CSV.

Who may see it is decided before these routes run (:mod:`costtracker.web.auth`): signed-in
users, tokens, and a signed link for that month (``?expires=&sig=``), which also opens the
month's ``.pdf`` and ``.csv``, so the page hands the link's signature on to those two buttons.
A closed month shows its frozen report; an open month is built from the ledger on each visit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from costtracker.clock import today
from costtracker.periods import previous_month
from costtracker.reports.close import report_for
from costtracker.reports.exports import LineFilter, csv_chunks, lines_query, pdf_from_html
from costtracker.reports.model import MonthlyReport
from costtracker.reports.monthly import month_of, parse_report_month
from costtracker.reports.view import Links, render_report, report_context
from costtracker.web.deps import SessionDep, SettingsDep
from costtracker.web.i18n import locale_of

router = APIRouter(include_in_schema=False)


@router.get("/report")
def latest_report() -> RedirectResponse:
    """The seed's ``/report``: the last month that is over."""
    return RedirectResponse(f"/report/{month_of(previous_month())}", status_code=307)


@router.get("/report/{month}.pdf")
def report_pdf(month: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    report = _report(session, month, settings.reporting_currency)
    html = render_report(report, links=Links(), printing=True, env=request.app.state.templates.env)
    headers = {"Content-Disposition": f'inline; filename="costtracker-report-{report.month}.pdf"'}
    return Response(pdf_from_html(html), media_type="application/pdf", headers=headers)


@router.get("/report/{month}.csv")
def report_csv(month: str, request: Request, session: SessionDep, settings: SettingsDep) -> StreamingResponse:
    """Every cost line of the month, every provider (``/api/export/csv`` takes any filter)."""
    period = parse_report_month(month)
    return csv_response(
        request.app.state.sessions,
        LineFilter(period),
        settings.reporting_currency,
        f"costtracker-costs-{month}.csv",
        session,
    )


@router.get("/report/{month}", response_class=HTMLResponse)
def report_page(month: str, request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    report = _report(session, month, settings.reporting_currency)
    context = report_context(
        report, links=page_links(request, report), printing=False, locale=locale_of(request)
    )
    response: HTMLResponse = request.app.state.templates.TemplateResponse(request, "report.html", context)
    return response


def page_links(request: Request, report: MonthlyReport) -> Links:
    """Exports for everyone (a link's signature carried over); other months for users only."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.kind == "link":
        share = "?" + urlencode({name: request.query_params.get(name, "") for name in ("expires", "sig")})
        return Links(pdf=f"/report/{report.month}.pdf{share}", csv=f"/report/{report.month}.csv{share}")
    following = parse_report_month(report.month).end + timedelta(days=1)
    return Links(
        pdf=f"/report/{report.month}.pdf",
        csv=f"/report/{report.month}.csv",
        previous=f"/report/{report.previous_month}",
        next=f"/report/{following:%Y-%m}" if following <= today() else None,
    )


def csv_response(
    sessions: sessionmaker[Session], chosen: LineFilter, currency: str, filename: str, session: Session
) -> StreamingResponse:
    lines_query(session, chosen)  # a bad filter is a 400 now, not a broken download later

    def stream() -> Iterator[str]:
        with sessions() as reading:
            yield from csv_chunks(reading, chosen, currency=currency)

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(stream(), media_type="text/csv; charset=utf-8", headers=headers)


def _report(session: Session, month: str, currency: str) -> MonthlyReport:
    parse_report_month(month)
    return report_for(session, month, currency=currency)
