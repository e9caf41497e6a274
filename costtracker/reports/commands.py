"""``costtracker report`` (close a month) and ``costtracker export csv|pdf``.

Registered on the main command in :mod:`costtracker.cli`; the helpers they share with the other
commands (settings, store, error exits) are imported from there when a command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from costtracker.reports.close import CloseResult

export_app = typer.Typer(help="Export cost lines (CSV) and month reports (PDF).", no_args_is_help=True)

Month = Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM (default: the last one over)")]


def report_command(
    month: Month = None,
    send: Annotated[bool, typer.Option("--send", help="E-mail the report (once per recipient)")] = False,
    notion: Annotated[bool, typer.Option("--notion", help="Sync the report to Notion")] = False,
    resend: Annotated[bool, typer.Option("--resend", help="E-mail it again, even to who had it")] = False,
    reclose: Annotated[
        bool, typer.Option("--reclose", help="Collect and freeze a closed month again")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a summary")] = False,
) -> None:
    """Close a month: collect it, freeze its report, then deliver it. Exit 1 when something failed."""
    import asyncio

    from rich.console import Console

    from costtracker.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, open_store, settings_or_exit
    from costtracker.collect.engine import interrupted_runs_cleanup
    from costtracker.errors import InvalidInput
    from costtracker.logs import setup_logging
    from costtracker.reports.close import close_month

    settings = settings_or_exit()
    setup_logging(settings)
    chosen = month or _last_month()
    sessions = open_store(settings)
    interrupted_runs_cleanup(sessions)
    try:
        result = asyncio.run(
            close_month(
                settings,
                sessions,
                chosen,
                send=send or resend,
                notion=notion,
                resend=resend,
                reclose=reclose,
                trigger="cli",
            )
        )
    except InvalidInput as exc:
        raise fail(exc.message, EXIT_USAGE) from None
    if as_json:
        typer.echo(json.dumps(_as_json(result), indent=2))
    else:
        print_close(result, Console())
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FAILED)


@export_app.command("csv")
def export_csv(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable)")
    ] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", help="Workspace id or name")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project id or name")] = None,
    month: Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First day, YYYY-MM-DD (inclusive)")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day, YYYY-MM-DD (inclusive)")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """The cost lines of a period (default: the month to date) as CSV, exact amounts."""
    from costtracker.cli import EXIT_USAGE, fail, open_store, period_or_exit, settings_or_exit
    from costtracker.errors import InvalidInput
    from costtracker.reports.exports import LineFilter, lines_query, write_csv

    settings = settings_or_exit()
    chosen = LineFilter(period_or_exit(month, start, end), list(provider or []), workspace, project)
    sessions = open_store(settings)
    with sessions() as session:
        try:
            lines_query(session, chosen)
        except InvalidInput as exc:
            raise fail(exc.message, EXIT_USAGE) from None
        if output is None:
            write_csv(session, chosen, sys.stdout, currency=settings.reporting_currency)
            return
        with output.open("w", encoding="utf-8", newline="") as out:
            write_csv(session, chosen, out, currency=settings.reporting_currency)
    typer.echo(f"wrote {output}", err=True)


@export_app.command("pdf")
def export_pdf(
    month: Month = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write")] = None,
) -> None:
    """A month's report as PDF (frozen when the month is closed), to costtracker-report-YYYY-MM.pdf."""
    from costtracker.cli import EXIT_USAGE, fail, open_store, settings_or_exit
    from costtracker.errors import InvalidInput
    from costtracker.reports.close import report_for
    from costtracker.reports.exports import pdf_from_html
    from costtracker.reports.monthly import parse_report_month
    from costtracker.reports.view import Links, render_report

    settings = settings_or_exit()
    chosen = month or _last_month()
    sessions = open_store(settings)
    with sessions() as session:
        try:
            parse_report_month(chosen)
        except InvalidInput as exc:
            raise fail(exc.message, EXIT_USAGE) from None
        report = report_for(session, chosen, currency=settings.reporting_currency)
    target = output or Path(f"costtracker-report-{chosen}.pdf")
    target.write_bytes(pdf_from_html(render_report(report, links=Links(), printing=True)))
    typer.echo(f"wrote {target}")


def print_close(result: CloseResult, console: Console) -> None:
    from costtracker.reports.view import Formatter

    report, fmt = result.report, Formatter(result.report.currency)
    state = "closed now" if result.frozen else "already closed (use --reclose to collect and freeze again)"
    console.print(f"[bold]{report.month}[/]: {state}" + (f", run #{result.run_id}" if result.run_id else ""))
    total = fmt.money(report.total)
    console.print(
        f"total {'at least ' if report.total_status == 'partial' else ''}{total} "
        f"(previous {fmt.money(report.previous_total)}), change {fmt.signed(report.change)} "
        f"{fmt.pct(report.change_pct)}"
    )
    for provider in report.providers:
        console.print(
            f"  {provider.name:<14} {provider.status:<12} {fmt.money(provider.total):>14}  "
            f"{fmt.signed(provider.change)}"
        )
    if report.drivers is not None:
        drivers = report.drivers
        console.print(
            f"drivers: volume {fmt.signed(drivers.volume)}, price {fmt.signed(drivers.price)}, "
            f"mix {fmt.signed(drivers.mix)}, new {fmt.signed(drivers.new)}, "
            f"gone {fmt.signed(drivers.gone)}"
        )
    for note in report.excluded:
        console.print(f"[yellow]{note}[/]")
    for line in result.delivered:
        console.print(f"[green]{line}[/]")
    for line in result.problems:
        console.print(f"[red]{line}[/]")


def _as_json(result: CloseResult) -> dict[str, object]:
    return {
        "month": result.month,
        "run_id": result.run_id,
        "run_status": result.run_status,
        "frozen_now": result.frozen,
        "delivered": result.delivered,
        "problems": result.problems,
        "report": result.report.to_dict(),
    }


def _last_month() -> str:
    from costtracker.periods import previous_month

    return f"{previous_month().start:%Y-%m}"
