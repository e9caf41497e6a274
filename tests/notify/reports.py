"""Monthly reports built by hand from the dataclasses of reports/model.py (the contract we render).

Totals, previous totals and changes are computed from the lines, as build_report would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from costtracker.reports.model import ModelLine, MonthlyReport, ProjectReport, ProviderReport, TrendPoint

COLLECTED = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def line(
    model: str, amount: str | None, requests: int = 100, tokens: tuple[int, int] = (1000, 500)
) -> ModelLine:
    return ModelLine(
        model,
        None if amount is None else Decimal(amount),
        requests=requests,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        provenance=["billed"],
    )


def project(
    workspace: str | None,
    name: str,
    project_id: str,
    lines: list[ModelLine],
    *,
    previous: str | None = None,
    status: str = "success",
    log: str = "Collected 31 days.",
) -> ProjectReport:
    known = [item.amount for item in lines if item.amount is not None]
    return ProjectReport(
        workspace=workspace,
        project=name,
        project_id=project_id,
        total=sum(known, Decimal(0)) if known else None,
        previous=None if previous is None else Decimal(previous),
        models=[item.model for item in lines],
        input_tokens=sum(item.input_tokens for item in lines),
        output_tokens=sum(item.output_tokens for item in lines),
        requests=sum(item.requests for item in lines),
        breakdown=lines,
        status=status,
        log=log,
        collected_at=COLLECTED,
    )


def provider(
    key: str,
    name: str,
    projects: list[ProjectReport],
    *,
    status: str = "success",
    reason: str | None = None,
    console_url: str | None = None,
    estimated: str | None = None,
) -> ProviderReport:
    known = [p.total for p in projects if p.total is not None]
    total = sum(known, Decimal(0)) if known and status != "failed" else None
    previous_known = [p.previous for p in projects if p.previous is not None]
    previous = sum(previous_known, Decimal(0)) if previous_known else None
    change = total - previous if total is not None and previous is not None else None
    change_pct = (change * 100 / previous) if change is not None and previous else None
    lines = sorted((item for p in projects for item in p.breakdown), key=lambda item: -(item.amount or 0))
    provenance = {"billed": total or Decimal(0)}
    if estimated is not None:
        provenance["estimated"] = Decimal(estimated)
    return ProviderReport(
        key=key,
        name=name,
        console_url=console_url or f"https://{key}.example.com",
        status=status,
        reason=reason,
        total=total,
        previous=previous,
        change=change,
        change_pct=change_pct,
        top_models=lines[:3],
        provenance=provenance,
        unpriced_lines=0,
        projects=projects,
    )


def monthly_report(providers: list[ProviderReport] | None = None, *, month: str = "2026-01") -> MonthlyReport:
    providers = providers if providers is not None else default_providers()
    known = [p.total for p in providers if p.total is not None]
    total = sum(known, Decimal(0)) if known else None
    both = [p for p in providers if p.total is not None and p.previous is not None]
    previous_total = sum((p.previous for p in providers if p.previous is not None), Decimal(0))
    change = (
        sum(
            (p.total - p.previous for p in both if p.total is not None and p.previous is not None), Decimal(0)
        )
        if both
        else None
    )
    compared = sum((p.previous for p in both if p.previous is not None), Decimal(0))
    change_pct = change * 100 / compared if change is not None and compared else None
    trend = [TrendPoint(f"2025-{m:02d}", Decimal(100 * m) + Decimal("0.25"), "complete") for m in (8, 9, 10)]
    trend += [
        TrendPoint("2025-11", None, "unknown"),
        TrendPoint("2025-12", previous_total, "partial"),
        TrendPoint(month, total, "partial" if any(p.status != "success" for p in providers) else "complete"),
    ]
    return MonthlyReport(
        month=month,
        previous_month="2025-12",
        currency="USD",
        total=total,
        previous_total=previous_total,
        change=change,
        change_pct=change_pct,
        active_providers=len(known),
        providers=providers,
        drivers=None,
        trend=trend,
        excluded=[f"{p.name}: not collected" for p in providers if p.total is None],
        generated_at=datetime(2026, 2, 2, 9, 30, tzinfo=UTC),
        closed=True,
    )


def default_providers() -> list[ProviderReport]:
    openai = provider(
        "openai",
        "OpenAI",
        [
            project(
                "Production",
                "Tutor bot",
                "proj_tutor",
                [line("gpt-4o", "40.00", 5000), line("gpt-4o-mini", "5.50")],
                previous="39.10",
            ),
            project(
                "Production", "Story engine", "proj_story", [line("gpt-4.1", "12.345678901")], previous="10"
            ),
        ],
        estimated="2.50",
    )
    anthropic = provider(
        "anthropic",
        "Anthropic",
        [
            project(
                None, "Default", "wrkspc_default", [line("claude-sonnet-4", "20.10", 900)], previous="25"
            ),
        ],
    )
    failed = provider(
        "elevenlabs",
        "ElevenLabs",
        [],
        status="failed",
        reason="the key was refused (401: invalid api key); check or replace it",
    )
    return [openai, anthropic, failed]
