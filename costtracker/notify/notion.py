"""Writing the monthly report to the seed's two linked Notion databases, and creating them.

``sync_report``: one Services page per provider (matched on ``ID Provider``) and one Usages page
per month x provider x project (matched on ``Clé``), linked by the Service relation. A page is
updated in place when found, created otherwise, never duplicated: the ``notion_pages`` table
remembers each page id, and when it does not know one (a fresh database, another machine) the
data source is queried on the key property first. Properties sync writes that a database lacks
(a database made by hand, a renamed property) are added first. One sync at a time (a lease).
The outcome is recorded as a ``Delivery`` (channel ``notion``) for the collection panel.

``setup`` does what the seed did by hand: both databases under a page, the dual relation, the
formula, then the rollups (added after the relation exists, the safe order).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from costtracker.collect.locks import acquire, holder_id, release
from costtracker.errors import ConfigError, Conflict, InvalidInput, SourceError
from costtracker.notify.deliveries import record_sync
from costtracker.notify.notion_api import NotionApi, NotionRefused
from costtracker.notify.notion_schema import (
    SERVICE_WRITES,
    SERVICES_TITLE,
    USAGE_WRITES,
    USAGES_TITLE,
    NotionSchema,
)
from costtracker.notify.notion_values import service_properties, usage_properties, usage_rows
from costtracker.reports.model import MonthlyReport
from costtracker.settings import Settings
from costtracker.store.models import NotionPage

log = logging.getLogger(__name__)
LOCK = "notion:sync"


@dataclass
class SyncResult:
    month: str
    created: int = 0
    updated: int = 0
    services: dict[str, str] = field(default_factory=dict)  # provider key -> page id
    usages: dict[str, str] = field(default_factory=dict)  # our key -> page id
    schema_added: list[str] = field(default_factory=list)  # properties added to a database
    errors: list[str] = field(default_factory=list)  # kept for callers; failures raise SourceError

    def summary(self) -> str:
        text = f"{self.created} pages created, {self.updated} updated"
        return text + (f"; properties added: {', '.join(self.schema_added)}" if self.schema_added else "")


def _required(value: str | None, setting: str) -> str:
    if not value:
        raise ConfigError(setting, "is not set: run `costtracker notion setup --parent-page ID` to create it")
    return value


def sync_report(settings: Settings, sessions: sessionmaker[Session], report: MonthlyReport) -> SyncResult:
    """Create or update the Services and Usages pages of ``report``. Blocking (see notify)."""
    schema = NotionSchema.from_settings(settings)
    services_db = _required(settings.notion_services_db_id, "NOTION_SERVICES_DB_ID")
    usages_db = _required(settings.notion_usages_db_id, "NOTION_USAGES_DB_ID")
    holder = holder_id()
    if acquire(sessions, LOCK, holder, None) is not None:
        raise Conflict("another process is syncing Notion; try again when it is done")
    api = NotionApi(settings)
    try:
        result = _sync(api, sessions, schema, report, services_db, usages_db)
    except SourceError as exc:
        record_sync(sessions, month=report.month, target=usages_db, error=exc.message, external_id=None)
        log.warning("Notion sync of %s failed: %s", report.month, exc.message)
        raise
    finally:
        api.close()
        release(sessions, LOCK, holder)
    record_sync(
        sessions, month=report.month, target=usages_db, error=None, external_id=result.summary()[:200]
    )
    log.info("Notion sync of %s: %s", report.month, result.summary())
    return result


def _sync(
    api: NotionApi,
    sessions: sessionmaker[Session],
    schema: NotionSchema,
    report: MonthlyReport,
    services_db: str,
    usages_db: str,
) -> SyncResult:
    services, usages = api.data_source_of(services_db), api.data_source_of(usages_db)
    result = SyncResult(report.month)
    result.schema_added = ensure_schema(api, schema, services, usages)
    pages = PageIndex(sessions)
    for provider in report.providers:
        page_id = _upsert(
            api,
            pages,
            result,
            services,
            f"service:{provider.key}",
            (schema["services.provider_id"], "rich_text", provider.key),
            service_properties(schema, provider),
        )
        result.services[provider.key] = page_id
        for row in usage_rows(report, provider):
            result.usages[row.key] = _upsert(
                api,
                pages,
                result,
                usages,
                row.key,
                (schema["usages.key"], "rich_text", row.key),
                usage_properties(schema, report, row, page_id),
            )
    return result


def ensure_schema(api: NotionApi, schema: NotionSchema, services: str, usages: str) -> list[str]:
    """Add the properties sync writes that a database lacks; a wrong type is a clear error."""
    added: list[str] = []
    for source, keys in ((services, SERVICE_WRITES), (usages, USAGE_WRITES)):
        existing = api.data_source(source).get("properties") or {}
        missing: dict[str, Any] = {}
        for key in keys:
            name, kind = schema[key], schema.kind(key)
            if name not in existing:
                missing[name] = schema.definition(key, services_source=services)
            elif existing[name].get("type") != kind:
                raise SourceError(
                    "notion",
                    f"the property {name!r} is a {existing[name].get('type')}, not a "
                    f"{kind}: rename it in Notion or in COSTTRACKER_NOTION_PROPERTIES",
                    permanent=True,
                )
        if missing:
            api.update_schema(source, missing)
            added += list(missing)
    return added


class PageIndex:
    """Our key -> Notion page id (``notion_pages``), scoped by data source."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get(self, source: str, key: str) -> str | None:
        with self.sessions() as session:
            return session.scalar(select(NotionPage.page_id).where(NotionPage.key == f"{source}:{key}"))

    def put(self, source: str, key: str, page_id: str) -> None:
        with self.sessions.begin() as session:
            row = session.scalar(select(NotionPage).where(NotionPage.key == f"{source}:{key}"))
            if row is None:
                session.add(NotionPage(key=f"{source}:{key}", page_id=page_id))
            else:
                row.page_id = page_id


def _upsert(
    api: NotionApi,
    pages: PageIndex,
    result: SyncResult,
    source: str,
    key: str,
    match: tuple[str, str, str],
    properties: dict[str, Any],
) -> str:
    known = pages.get(source, key)
    if known is not None:
        try:
            api.update_page(known, properties)
            result.updated += 1
            return known
        except NotionRefused as exc:  # deleted or trashed in Notion since: find or create it again
            log.info("Notion page %s for %s is gone (%s); looking it up again", known, key, exc.notion_code)
    found = api.find(source, *match)
    if found is not None:
        api.update_page(found, properties)
        result.updated += 1
    else:
        found = api.create_page(source, properties)
        result.created += 1
    pages.put(source, key, found)
    return found


def parent_page_id(value: str) -> str:
    """A page id or a Notion page URL -> the page id."""
    from notion_client.helpers import extract_notion_id

    found = extract_notion_id(value.strip()) if value.strip() else None
    if not found:
        raise InvalidInput("--parent-page", f"{value!r} is neither a Notion page id nor a page URL")
    return str(found)


def setup(settings: Settings, parent_page: str) -> tuple[str, str]:
    """Create the Services and Usages databases under ``parent_page``; returns their database ids."""
    schema, page = NotionSchema.from_settings(settings), parent_page_id(parent_page)
    api = NotionApi(settings)
    try:
        services_db = api.create_database(page, SERVICES_TITLE, schema.services_properties())
        services = str(services_db["data_sources"][0]["id"])
        usages_db = api.create_database(page, USAGES_TITLE, schema.usages_properties(services))
        usages = str(usages_db["data_sources"][0]["id"])
        api.update_schema(usages, schema.usages_formula())
        _name_the_mirror(api, schema, services, usages)
        api.update_schema(services, schema.services_rollups())
    finally:
        api.close()
    log.info("created the Notion databases %s and %s", services_db["id"], usages_db["id"])
    return str(services_db["id"]), str(usages_db["id"])


def _name_the_mirror(api: NotionApi, schema: NotionSchema, services: str, usages: str) -> None:
    """Make sure the relation's other side on Services carries the configured name."""
    wanted = schema["services.usages"]
    for name, prop in (api.data_source(services).get("properties") or {}).items():
        relation = prop.get("relation") or {}
        if prop.get("type") == "relation" and relation.get("data_source_id") == usages and name != wanted:
            api.update_schema(services, {name: {"name": wanted}})
