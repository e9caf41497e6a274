"""The ``costtracker`` command.

Every command loads the settings first; a bad setting is reported in plain words with the
variable's name and a non-zero exit, never a traceback. Jobs (collect, report) are commands
too, so cron, systemd and CI can run them.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from costtracker import __version__
from costtracker.errors import ConfigError, CostTrackerError
from costtracker.settings import Settings, load_settings

app = typer.Typer(
    help="Track what an AI company spends, on what, and whether it earns more than it spends.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8000,
    migrate: Annotated[bool, typer.Option(help="Upgrade the database schema first")] = True,
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
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())


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
