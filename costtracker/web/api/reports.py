"""The report over HTTP: its data (``GET /api/report``), the seed's ``POST /api/send-report``,
and the cost lines as CSV for any filter (``GET /api/export/csv``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from costtracker.periods import previous_month, resolve
from costtracker.reports.close import close_month, report_for
from costtracker.reports.exports import LineFilter
from costtracker.reports.monthly import month_of, parse_report_month
from costtracker.web.deps import SessionDep, SettingsDep, require_scope
from costtracker.web.pages.report import csv_response

router = APIRouter(tags=["reports"])
MonthQuery = Annotated[str | None, Query(description="YYYY-MM; default: the last month that is over")]


@router.get("/report", summary="The monthly report as data")
def report(session: SessionDep, settings: SettingsDep, month: MonthQuery = None) -> dict[str, Any]:
    """The frozen report of a closed month, else the report as the ledger says it now.
    Amounts are decimal strings; ``null`` means unknown, never zero."""
    chosen = month or month_of(previous_month())
    parse_report_month(chosen)
    return report_for(session, chosen, currency=settings.reporting_currency).to_dict()


@router.post(
    "/send-report", summary="E-mail a month's report", dependencies=[Depends(require_scope("collect"))]
)
async def send_report(
    request: Request,
    settings: SettingsDep,
    month: MonthQuery = None,
    resend: Annotated[bool, Query(description="Send again to recipients who already had it")] = False,
) -> JSONResponse:
    """Close the month on what the ledger holds (without collecting) if it is not closed yet, then
    e-mail its report to every recipient who has not had it (all of them with ``resend``).
    Answers 502 with the reasons when a message could not be sent."""
    chosen = month or month_of(previous_month())
    result = await close_month(
        settings, request.app.state.sessions, chosen, send=True, resend=resend, collect=False, trigger="api"
    )
    body: dict[str, Any] = {
        "month": chosen,
        "closed": True,
        "frozen_now": result.frozen,
        "delivered": result.delivered,
        "undelivered": result.undelivered,
    }
    if result.undelivered:
        body["error"] = {"code": "delivery_failed", "message": "; ".join(result.undelivered)}
        return JSONResponse(body, status_code=502)
    return JSONResponse(body)


@router.get("/export/csv", summary="Cost lines as CSV", response_class=StreamingResponse)
def export_csv(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    provider: Annotated[
        list[str] | None, Query(description="Provider key (repeatable); default: all")
    ] = None,
    workspace: Annotated[str | None, Query(description="Workspace id or name (one provider)")] = None,
    project: Annotated[str | None, Query(description="Project id or name (one provider)")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
    start: Annotated[str | None, Query(description="First day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(description="Last day, YYYY-MM-DD (inclusive)")] = None,
) -> StreamingResponse:
    """Every cost line of the filter, exact amounts, provenance and whether each counts in totals."""
    period = resolve(month=month, start=start, end=end)
    chosen = LineFilter(period, list(provider or []), workspace, project)
    name = f"costtracker-costs-{period.start}-{period.end}.csv"
    return csv_response(request.app.state.sessions, chosen, settings.reporting_currency, name, session)
