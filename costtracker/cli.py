"""The ``costtracker`` command.

Every command loads the settings first; a bad setting is reported in plain words with the
variable's name and a non-zero exit, never a traceback. Jobs (collect, report) are commands
too, so cron, systemd and CI can run them.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costtracker import __version__
from costtracker.auth.cli import token_app, user_app
from costtracker.errors import ConfigError, CostTrackerError, InvalidInput
from costtracker.notify.commands import email_app, notion_app
from costtracker.reports.commands import export_app, report_command
from costtracker.settings import Settings, load_settings
from costtracker.store.models import Outcome

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from costtracker.sources.base import Period

app = typer.Typer(
    help="Track what an AI company spends, on what, and whether it earns more than it spends.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
fx_app = typer.Typer(
    help="Exchange rates used to convert amounts to the reporting currency.", no_args_is_help=True
)
app.add_typer(fx_app, name="fx")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(export_app, name="export")
app.add_typer(notion_app, name="notion")
app.add_typer(email_app, name="email")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_USAGE) from None


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Create or migrate the database schema to the newest version."""
    from costtracker.store.db import make_engine
    from costtracker.store.migrate import current_revision, upgrade

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url)
    upgrade(engine, revision)
    typer.echo(f"database at revision {current_revision(engine)}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision (base = empty)")]) -> None:
    """Migrate the database schema down to an older revision."""
    from costtracker.store.db import make_engine
    from costtracker.store.migrate import current_revision, downgrade

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url)
    downgrade(engine, revision)
    typer.echo(f"database at revision {current_revision(engine) or 'base (empty)'}")


@fx_app.command("add")
def fx_add(
    currency: Annotated[str, typer.Argument(help="Source currency, e.g. EUR")],
    rate: Annotated[str, typer.Argument(help="Units of the reporting currency for 1 unit, e.g. 1.0845")],
    day: Annotated[
        str | None, typer.Option("--date", help="First day the rate applies (default: today)")
    ] = None,
    source: Annotated[str, typer.Option(help="Where the rate comes from, kept with it")] = "manual",
) -> None:
    """Record a rate; it applies from its date until a newer one. Recollect to convert past lines."""
    from costtracker.collect.fx import record_rate

    settings = settings_or_exit()
    try:
        stored = record_rate(
            open_store(settings),
            currency=currency,
            quote=settings.reporting_currency,
            rate=rate,
            day=day,
            source=source,
        )
    except InvalidInput as exc:
        raise fail(exc.message, EXIT_USAGE) from None
    typer.echo(f"1 {stored.currency} = {stored.rate} {stored.quote} from {stored.day} ({stored.source})")


@fx_app.command("list")
def fx_list() -> None:
    """The recorded rates, newest first."""
    from costtracker.collect.fx import list_rates

    settings = settings_or_exit()
    for rate in list_rates(open_store(settings)):
        typer.echo(f"{rate.day}  1 {rate.currency} = {rate.rate} {rate.quote}  ({rate.source})")


@app.command()
def check() -> None:
    """Validate the configuration and say in plain words what is missing or wrong."""
    from costtracker.checks import run_checks

    settings = settings_or_exit()
    errors = 0
    for level, message in run_checks(settings):
        colour = {"ok": typer.colors.GREEN, "warning": typer.colors.YELLOW, "error": typer.colors.RED}[level]
        typer.secho(f"{level:>7}  {message}", fg=colour)
        errors += level == "error"
    if errors:
        raise typer.Exit(EXIT_FAILED)


def open_store(settings: Settings, *, migrate: bool = True) -> sessionmaker[Session]:
    """Sessions on the configured database, its schema brought up to date first."""
    from costtracker.store.db import make_engine, session_factory
    from costtracker.store.migrate import upgrade

    engine = make_engine(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    return session_factory(engine)


def period_or_exit(month: str | None, start: str | None, end: str | None) -> Period:
    from costtracker.periods import resolve

    try:
        return resolve(month=month, start=start, end=end)
    except InvalidInput as exc:
        raise fail(exc.message, EXIT_USAGE) from None


MonthOption = Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM")]
StartOption = Annotated[str | None, typer.Option("--start", help="First day, YYYY-MM-DD (inclusive)")]
EndOption = Annotated[str | None, typer.Option("--end", help="Last day, YYYY-MM-DD (inclusive)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


@app.command()
def collect(
    month: MonthOption = None,
    start: StartOption = None,
    end: EndOption = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Collect costs and usage (default: the month to date). Exit 1 when something failed."""
    import asyncio

    from rich.console import Console

    from costtracker.collect.console import ProgressView, outcome_table
    from costtracker.collect.engine import CollectionEngine, interrupted_runs_cleanup, resolve_providers
    from costtracker.collect.runs import get_run, run_to_dict
    from costtracker.logs import setup_logging

    settings = settings_or_exit()
    setup_logging(settings)
    period = period_or_exit(month, start, end)
    try:
        keys = resolve_providers(provider)
    except InvalidInput as exc:
        raise fail(exc.message, EXIT_USAGE) from None
    sessions = open_store(settings)
    interrupted_runs_cleanup(sessions)
    console = Console(stderr=as_json)
    view = ProgressView(console) if console.is_terminal and not as_json else None
    engine = CollectionEngine(settings, sessions, listener=view)
    if view is not None:
        with view:
            result = asyncio.run(engine.run(period, providers=keys, trigger="cli"))
    else:
        result = asyncio.run(engine.run(period, providers=keys, trigger="cli"))
    if as_json:
        with sessions() as session:
            typer.echo(json.dumps(run_to_dict(get_run(session, result.run_id)), indent=2))
    else:
        console.print(outcome_table(result.outcomes, settings.reporting_currency))
        console.print(f"run #{result.run_id}: {result.status.value}")
    raise typer.Exit(EXIT_OK if result.status == Outcome.SUCCESS else EXIT_FAILED)


@app.command()
def runs(
    last: Annotated[int, typer.Option("--last", min=1, max=1000, help="How many runs")] = 10,
    as_json: JsonOption = False,
) -> None:
    """List the latest collection runs with their outcome."""
    from costtracker.collect.runs import list_runs, run_to_dict

    settings = settings_or_exit()
    sessions = open_store(settings)
    with sessions() as session:
        found = [run_to_dict(run, with_logs=False) for run in list_runs(session, limit=last)]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for run in found:
        failing = [o for o in run["outcomes"] if o["status"] in ("failed", "partial")]
        typer.echo(
            f"#{run['id']:<5} {run['started_at'][:19]}  {run['trigger']:<8} "
            f"{run['period']['start']}..{run['period']['end']}  {run['status']:<8} "
            f"{run['lines_written']} lines" + (f"  ({len(failing)} failing)" if failing else "")
        )
        for outcome in failing:
            typer.echo(f"        {outcome['provider']} ({outcome['account']}): {outcome['reason']}")


@app.command()
def costs(
    provider: Annotated[str, typer.Option("--provider", help="Provider key, e.g. openai")],
    workspace: Annotated[str | None, typer.Option("--workspace", help="Workspace id or name")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project id or name")] = None,
    month: MonthOption = None,
    start: StartOption = None,
    end: EndOption = None,
    as_json: JsonOption = False,
) -> None:
    """What a provider (workspace, project) cost over a period, per model, from the database."""
    from costtracker.reports.costs_view import print_costs
    from costtracker.store.queries import cost_summary, resolve_scope

    settings = settings_or_exit()
    period = period_or_exit(month, start, end)
    sessions = open_store(settings)
    with sessions() as session:
        try:
            scope = resolve_scope(
                session,
                provider=provider,
                workspace=workspace,
                project=project,
                start=period.start,
                end=period.end,
            )
        except InvalidInput as exc:
            raise fail(exc.message, EXIT_USAGE) from None
        summary = cost_summary(session, scope, currency=settings.reporting_currency)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        print_costs(summary)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the dashboard", min=1, max=65535)] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its SQLite file")] = Path("data/demo"),
) -> None:
    """Emulated providers -> SQLite -> dashboard on http://127.0.0.1:8000, with no keys at all."""
    from costtracker.demo import main as run_demo

    run_demo(port=port, data_dir=data_dir, say=typer.echo)


@app.command()
def emulate(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this one (repeatable)")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the first emulator; the next ones follow")] = 9001,
    latency_ms: Annotated[int, typer.Option(help="Delay before every answer", min=0)] = 0,
    page_size: Annotated[int | None, typer.Option(help="Force small pages", min=1)] = None,
    projects_per_workspace: Annotated[
        int | None, typer.Option(help="OpenAI projects per workspace", min=1)
    ] = None,
) -> None:
    """Serve the providers' emulators on loopback (for curl, tests, benchmarks and trying things out).

    Each also answers ``GET /_emulator/stats`` with what clients did (requests, peak concurrency)."""
    import asyncio

    from costtracker.emulators.serve import emulated_keys, serve_emulators

    keys = emulated_keys(provider, delivery=True)
    unknown = sorted(set(provider or []) - set(keys))
    if unknown:
        known = ", ".join(emulated_keys(delivery=True))
        raise fail(f"no emulator for {', '.join(unknown)}; known: {known}", EXIT_USAGE)

    from costtracker.emulators.base import EmulatorConfig

    extra = {"projects_per_workspace": projects_per_workspace} if projects_per_workspace else {}
    config = EmulatorConfig(latency_ms=latency_ms, page_size=page_size, extra=extra)

    async def serve_forever() -> None:
        async with serve_emulators(keys, first_port=port, config=config) as served:
            for item in served:
                typer.echo(f"{item.key:<12} {item.origin}")
                for name, value in item.environment().items():
                    typer.echo(f"    export {name}={value}")
            await asyncio.Event().wait()

    try:
        asyncio.run(serve_forever())
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Run what is due now, then exit (for system cron)")
    ] = False,
    tick: Annotated[float, typer.Option(help="Seconds between two looks at the schedule", min=1)] = 30.0,
) -> None:
    """Run the schedules (daily collection, monthly close); stops cleanly on SIGTERM."""
    import asyncio
    import signal

    from costtracker.collect.locks import holder_id
    from costtracker.collect.schedule import Scheduler, sync_jobs
    from costtracker.logs import setup_logging

    settings = settings_or_exit()
    setup_logging(settings)
    sessions = open_store(settings)
    scheduler = Scheduler(settings, sessions, holder=holder_id(), tick_seconds=tick)
    if once:
        sync_jobs(sessions, scheduler.jobs, settings.timezone)
        ran = asyncio.run(scheduler.tick())
        typer.echo(f"ran: {', '.join(ran) or 'nothing was due'}")
        return

    async def until_stopped() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        scheduler.start()
        typer.echo(f"worker running ({', '.join(f'{j.name}: {j.cron}' for j in scheduler.jobs)})")
        await stop.wait()
        scheduler.stop()

    asyncio.run(until_stopped())
    typer.echo("worker stopped")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8000,
    migrate: Annotated[bool, typer.Option(help="Upgrade the database schema first")] = True,
    scheduler: Annotated[
        bool, typer.Option(help="Also run the schedules (see COSTTRACKER_SCHEDULER_ENABLED)")
    ] = True,
) -> None:
    """Serve the web app and API with Uvicorn."""
    import uvicorn

    from costtracker.logs import setup_logging
    from costtracker.store.db import make_engine
    from costtracker.store.migrate import upgrade
    from costtracker.web.app import create_app

    settings = settings_or_exit()
    setup_logging(settings)
    if migrate:
        upgrade(make_engine(settings.effective_database_url))
    typer.echo(f"costtracker {__version__} on http://{host}:{port}")
    web = create_app(settings, run_scheduler=scheduler and settings.scheduler_enabled)
    uvicorn.run(web, host=host, port=port, log_level=settings.log_level.lower())


app.command("report")(report_command)  # defined in costtracker.reports.commands


def main() -> None:
    """Entry point: domain errors become a message and an exit code, never a traceback."""
    try:
        app()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_USAGE)
    except CostTrackerError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_FAILED)
    except Exception as exc:  # the last resort: a message, never a traceback (details at DEBUG level)
        logging.getLogger("costtracker").debug("unexpected error", exc_info=True)
        typer.secho(
            f"error: unexpected {type(exc).__name__}; run with COSTTRACKER_LOG_LEVEL=DEBUG for "
            "details, and please report it",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(EXIT_FAILED)
