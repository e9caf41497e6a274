"""``costtracker check``: what is configured, what is missing, what cannot work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from costtracker.settings import Settings
from costtracker.sources import available_sources
from costtracker.store.db import make_engine, ping
from costtracker.store.migrate import current_revision, head_revision

Level = Literal["ok", "warning", "error"]


def run_checks(settings: Settings) -> Iterator[tuple[Level, str]]:
    yield from _database(settings)
    yield from _access(settings)
    yield from _sources(settings)


def _access(settings: Settings) -> Iterator[tuple[Level, str]]:
    from costtracker.auth.signing import KEY_FILE, configured_key
    from costtracker.errors import ConfigError

    try:
        if configured_key(settings) is None and not settings.demo:
            where = settings.data_dir / KEY_FILE
            yield "warning", f"COSTTRACKER_SECRET_KEY: not set; the key kept in {where} signs report links"
    except ConfigError as exc:
        yield "error", exc.message
    if settings.admin_email and settings.admin_password is None:
        yield "warning", "COSTTRACKER_ADMIN_EMAIL is set without COSTTRACKER_ADMIN_PASSWORD: no admin created"


def _database(settings: Settings) -> Iterator[tuple[Level, str]]:
    url = settings.effective_database_url
    shown = url.split("@")[-1] if "@" in url else url
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ValueError, OSError) as exc:
        yield "error", f"COSTTRACKER_DATABASE_URL: cannot open {shown} ({type(exc).__name__})"
        return
    if not ping(engine):
        yield "error", f"COSTTRACKER_DATABASE_URL: the database {shown} does not answer"
        return
    revision, head = current_revision(engine), head_revision()
    if revision != head:
        yield (
            "warning",
            f"database {shown} is at revision {revision or 'empty'}; run `costtracker db upgrade`",
        )
    else:
        yield "ok", f"database {shown} reachable, schema up to date"
    engine.dispose()


def _sources(settings: Settings) -> Iterator[tuple[Level, str]]:
    for source in available_sources().values():
        credentials = source.credentials(settings)
        if credentials:
            labels = ", ".join(c.label for c in credentials)
            yield "ok", f"{source.display_name}: configured ({labels})"
        else:
            keys = " or ".join(source.settings_keys) or "its key"
            yield "warning", f"{source.display_name}: not configured (set {keys}); it will be skipped"
