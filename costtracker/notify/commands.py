"""``costtracker notion setup|sync`` and ``costtracker email test|send``.

Registered on the main command in :mod:`costtracker.cli`. A month's report is its frozen
snapshot when the month is closed, else the report as the ledger says it now.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from costtracker.reports.model import MonthlyReport
    from costtracker.settings import Settings

notion_app = typer.Typer(help="The seed's two Notion databases, Services and Usages.", no_args_is_help=True)
email_app = typer.Typer(help="The monthly report e-mail (Resend or SMTP).", no_args_is_help=True)

Month = Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM (default: the last one over)")]


@contextmanager
def plain_errors() -> Iterator[None]:
    """Domain errors become a message and an exit code (2 for usage and settings, 1 otherwise)."""
    from costtracker.cli import EXIT_FAILED, EXIT_USAGE, fail
    from costtracker.errors import ConfigError, CostTrackerError, InvalidInput

    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except InvalidInput as exc:
        raise fail(exc.message, EXIT_USAGE) from None
    except CostTrackerError as exc:
        raise fail(exc.message, EXIT_FAILED) from None


def _month(month: str | None) -> str:
    from costtracker.periods import parse_month, previous_month

    return f"{(parse_month(month) if month else previous_month()).start:%Y-%m}"


def _report(settings: Settings, sessions: sessionmaker[Session], month: str) -> MonthlyReport:
    from costtracker.reports.close import report_for

    with sessions() as session:
        return report_for(session, month, currency=settings.reporting_currency)


@notion_app.command("setup")
def notion_setup(
    parent_page: Annotated[
        str, typer.Option("--parent-page", help="Page id or URL, shared with the integration")
    ],
) -> None:
    """Create the Services and Usages databases (relation, rollups, formula) under a page."""
    from costtracker.cli import settings_or_exit
    from costtracker.logs import setup_logging
    from costtracker.notify.notion import setup

    settings = settings_or_exit()
    setup_logging(settings)
    with plain_errors():
        services, usages = setup(settings, parent_page)
    typer.echo("Created the Notion databases. Add these settings (environment or .env):")
    typer.echo(f"NOTION_SERVICES_DB_ID={services}")
    typer.echo(f"NOTION_USAGES_DB_ID={usages}")


@notion_app.command("sync")
def notion_sync(month: Month = None) -> None:
    """Write a month's report to Notion, updating its pages in place."""
    from costtracker.cli import open_store, settings_or_exit
    from costtracker.logs import setup_logging
    from costtracker.notify.notion import sync_report

    settings = settings_or_exit()
    setup_logging(settings)
    with plain_errors():
        chosen = _month(month)
        sessions = open_store(settings)
        result = sync_report(settings, sessions, _report(settings, sessions, chosen))
    typer.echo(f"Notion, {chosen}: {result.summary()}")


@email_app.command("test")
def email_test(to: Annotated[str, typer.Option("--to", help="Where to send the test message")]) -> None:
    """Send a test message now, through the configured transport."""
    from costtracker.cli import settings_or_exit
    from costtracker.notify.email import send_test

    settings = settings_or_exit()
    with plain_errors():
        channel, message_id = send_test(settings, to)
    typer.echo(f"sent to {to} via {channel} ({message_id})")


@email_app.command("send")
def email_send(
    month: Month = None,
    resend: Annotated[bool, typer.Option("--resend", help="Send again, even to who had it")] = False,
) -> None:
    """E-mail a month's report to REPORT_EMAIL_TO (once per recipient). Exit 1 when one failed."""
    from costtracker.cli import EXIT_FAILED, open_store, settings_or_exit
    from costtracker.logs import setup_logging
    from costtracker.notify.email import send_report

    settings = settings_or_exit()
    setup_logging(settings)
    with plain_errors():
        chosen = _month(month)
        sessions = open_store(settings)
        results = send_report(settings, sessions, _report(settings, sessions, chosen), resend=resend)
    for item in results:
        typer.echo(
            f"{item.recipient:<32} {item.status:<8} {item.channel}"
            + (f"  {item.reason}" if item.reason else "")
        )
    if any(item.status == "failed" for item in results):
        raise typer.Exit(EXIT_FAILED)
