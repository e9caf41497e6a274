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
    yield from _delivery(settings)


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


def _delivery(settings: Settings) -> Iterator[tuple[Level, str]]:
    """The monthly report's e-mail and Notion: what will happen at the close."""
    recipients = [r.strip() for r in (settings.report_email_to or "").split(",") if r.strip()]
    transport = "Resend" if settings.resend_api_key else ("SMTP" if settings.smtp_host else None)
    if recipients and transport is None:
        yield (
            "warning",
            "REPORT_EMAIL_TO is set but neither RESEND_API_KEY nor COSTTRACKER_SMTP_HOST: no e-mail",
        )
    elif transport and not recipients:
        yield "warning", f"{transport} is configured but REPORT_EMAIL_TO is empty: no e-mail will be sent"
    elif transport:
        yield "ok", f"monthly report e-mailed through {transport} to {len(recipients)} recipient(s)"
    if settings.resend_api_key and settings.email_from.rstrip(">").endswith("@localhost"):
        yield "warning", "COSTTRACKER_EMAIL_FROM: Resend only sends from a verified domain, not localhost"
    if settings.notion_api_key and not (settings.notion_services_db_id and settings.notion_usages_db_id):
        yield (
            "warning",
            (
                "NOTION_API_KEY is set without NOTION_SERVICES_DB_ID and NOTION_USAGES_DB_ID: "
                "run `costtracker notion setup --parent-page ID`"
            ),
        )
