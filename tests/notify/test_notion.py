"""Notion delivery against the emulator on loopback: setup, sync, re-sync in place, names, limits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.notion import DEMO_PARENT_PAGE, DEMO_TOKEN
from costtracker.emulators.notion_store import DataSource, Page, Workspace
from costtracker.emulators.serve import Served
from costtracker.errors import AuthenticationFailed, ConfigError, InvalidInput
from costtracker.notify.notion import setup, sync_report
from costtracker.notify.notion_schema import LABELS
from costtracker.reports.model import MonthlyReport
from costtracker.settings import Settings
from costtracker.store.models import Delivery, NotionPage
from tests.conftest import Db
from tests.leakcheck import planted
from tests.notify.reports import line, monthly_report, project, provider


@pytest.fixture
def notion(emulator: Callable[..., Served], make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """``notion(config, **settings)`` -> (served emulator, settings pointing at it, databases set up)."""

    def start(config: EmulatorConfig | None = None, **values: Any) -> tuple[Served, Settings]:
        served = emulator("notion", config)
        values.setdefault("notion_requests_per_second", 100)
        settings = make_settings(notion_api_key=DEMO_TOKEN, notion_base_url=served.origin, **values)
        services, usages = setup(settings, DEMO_PARENT_PAGE)
        return served, settings.model_copy(
            update={"notion_services_db_id": services, "notion_usages_db_id": usages}
        )

    return start


def source(ws: Workspace, title: str) -> DataSource:
    return next(s for s in ws.data_sources.values() if s.title == title)


def pages(ws: Workspace, title: str) -> list[Page]:
    found = source(ws, title)
    return [p for p in ws.pages.values() if p.data_source_id == found.id and not p.in_trash]


def usage(ws: Workspace, identifier: str, name: str = "Identifiant") -> Page:
    return next(p for p in pages(ws, "Usages LLM") if ws.plain(p, name) == identifier)


def service(ws: Workspace, provider_key: str) -> Page:
    return next(p for p in pages(ws, "Services LLM") if ws.plain(p, "ID Provider") == provider_key)


def rows_of(report: MonthlyReport) -> int:
    return sum(max(1, len(p.projects)) for p in report.providers)


def test_setup_creates_both_databases_with_the_relation_rollups_and_formula(
    notion: Callable[..., Any],
) -> None:
    served, _ = notion()
    ws = served.emulator.dataset
    services, usages = source(ws, "Services LLM"), source(ws, "Usages LLM")

    relation = usages.find("Service")
    assert relation is not None and relation["relation"]["data_source_id"] == services.id
    assert relation["relation"]["type"] == "dual_property"
    mirror = services.find("Usages")
    assert mirror is not None and mirror["relation"]["data_source_id"] == usages.id
    rollups = {p["name"]: p["rollup"] for p in services.properties.values() if p["type"] == "rollup"}
    assert {
        name: (r["relation_property_name"], r["rollup_property_name"], r["function"])
        for name, r in rollups.items()
    } == {
        "Total Coût USD": ("Usages", "Coût USD", "sum"),
        "Total Tokens": ("Usages", "Tokens Total", "sum"),
        "Nombre Collectes": ("Usages", "Identifiant", "count"),
        "Dernière Collecte": ("Usages", "Collecté Le", "latest_date"),
    }
    formula = usages.find("Tokens Total")
    assert (
        formula is not None
        and formula["formula"]["expression"] == 'prop("Tokens Input") + prop("Tokens Output")'
    )
    cost = usages.find("Coût USD")
    assert cost is not None and cost["number"]["format"] == "dollar"


def test_sync_fills_both_databases_with_exact_amounts_and_linked_rollups(
    db: Db, notion: Callable[..., Any]
) -> None:
    served, settings = notion()
    ws, report = served.emulator.dataset, monthly_report()

    result = sync_report(settings, db.sessions, report)

    assert len(pages(ws, "Services LLM")) == len(report.providers)
    assert len(pages(ws, "Usages LLM")) == rows_of(report) == result.created - len(report.providers)
    openai = next(p for p in report.providers if p.key == "openai")
    story = next(p for p in openai.projects if p.project_id == "proj_story")
    page = usage(ws, "2026-01 - OpenAI - Story engine")
    assert ws.plain(page, "Coût USD") == story.total == Decimal("12.345678901")
    assert ws.plain(page, "Tokens Total") == story.input_tokens + story.output_tokens
    assert ws.plain(page, "Modèles") == "gpt-4.1" and ws.plain(page, "Workspace") == "Production"
    assert json.loads(ws.plain(page, "Breakdown JSON"))[0]["cost"] == "12.345678901"
    assert ws.plain(page, "Statut Collecte") == LABELS["status.success"]
    service_page = service(ws, "openai")
    assert ws.plain(page, "Service") == [service_page.id]
    assert ws.plain(service_page, "Total Coût USD") == openai.total
    assert ws.plain(service_page, "Nombre Collectes") == len(openai.projects)
    assert ws.plain(service_page, "Dernière Collecte")["start"] == story.collected_at.isoformat()  # type: ignore[union-attr]
    assert (
        ws.plain(service_page, "Nom") == "OpenAI"
        and ws.plain(service_page, "URL Console") == openai.console_url
    )


def test_a_failed_provider_is_marked_failed_with_its_reason_and_no_amount(
    db: Db, notion: Callable[..., Any]
) -> None:
    served, settings = notion()
    ws, report = served.emulator.dataset, monthly_report()
    failed = next(p for p in report.providers if p.status == "failed")

    sync_report(settings, db.sessions, report)

    page = usage(ws, f"2026-01 - {failed.name}")
    assert ws.plain(page, "Statut Collecte") == LABELS["status.failed"]
    assert ws.plain(page, "Log Status") == failed.reason
    assert ws.plain(page, "Coût USD") is None


def test_resync_updates_pages_in_place(db: Db, notion: Callable[..., Any]) -> None:
    served, settings = notion()
    ws, report = served.emulator.dataset, monthly_report()
    sync_report(settings, db.sessions, report)
    before = {p.id for p in ws.pages.values()}
    anthropic = next(p for p in report.providers if p.key == "anthropic")
    changed = replace(anthropic.projects[0], total=Decimal("99.99"), log="Collected again.")
    report.providers[1] = replace(anthropic, projects=[changed], total=Decimal("99.99"))

    second = sync_report(settings, db.sessions, report)

    assert second.created == 0 and second.updated == len(report.providers) + rows_of(report)
    assert {p.id for p in ws.pages.values()} == before
    page = usage(ws, "2026-01 - Anthropic - Default")
    assert (
        ws.plain(page, "Coût USD") == Decimal("99.99") and ws.plain(page, "Log Status") == "Collected again."
    )
    assert "/v1/data_sources/" in "".join(served.emulator.stats.by_path)


def test_resync_without_the_local_page_table_finds_pages_by_their_key(
    db: Db, notion: Callable[..., Any]
) -> None:
    served, settings = notion(EmulatorConfig(page_size=2))
    ws, report = served.emulator.dataset, monthly_report()
    sync_report(settings, db.sessions, report)
    with db.sessions.begin() as session:
        session.execute(delete(NotionPage))

    again = sync_report(settings, db.sessions, report)

    assert again.created == 0
    assert len(pages(ws, "Usages LLM")) == rows_of(report)
    with db.sessions() as session:
        assert len(session.scalars(select(NotionPage)).all()) == len(report.providers) + rows_of(report)


def test_a_page_deleted_in_notion_is_created_again(db: Db, notion: Callable[..., Any]) -> None:
    served, settings = notion()
    ws, report = served.emulator.dataset, monthly_report()
    sync_report(settings, db.sessions, report)
    usage(ws, "2026-01 - Anthropic - Default").in_trash = True

    again = sync_report(settings, db.sessions, report)

    assert again.created == 1
    assert len(pages(ws, "Usages LLM")) == rows_of(report)


def test_property_names_from_settings_are_used(db: Db, notion: Callable[..., Any]) -> None:
    names = {"usages.cost": "Cost USD", "usages.identifier": "Identifier", "status.failed": "Failed"}
    served, settings = notion(notion_properties=json.dumps(names))
    ws, report = served.emulator.dataset, monthly_report()

    sync_report(settings, db.sessions, report)

    usages = source(ws, "Usages LLM")
    assert usages.find("Cost USD") is not None and usages.find("Coût USD") is None
    assert source(ws, "Services LLM").find("Total Coût USD")["rollup"]["rollup_property_name"] == "Cost USD"  # type: ignore[index]
    page = usage(ws, "2026-01 - ElevenLabs", name="Identifier")
    assert ws.plain(page, "Statut Collecte") == "Failed"
    assert ws.plain(usage(ws, "2026-01 - Anthropic - Default", name="Identifier"), "Cost USD") == Decimal(
        "20.10"
    )


def test_text_over_2000_characters_is_split_into_several_text_objects(
    db: Db, notion: Callable[..., Any]
) -> None:
    served, settings = notion()
    ws = served.emulator.dataset
    log = "".join(f"chunk {i:04d} processed; " for i in range(200))  # 4,400 characters
    report = monthly_report(
        [
            provider(
                "openai",
                "OpenAI",
                [project("Production", "Tutor bot", "proj_tutor", [line("gpt-4o", "1.00")], log=log)],
            )
        ]
    )

    sync_report(settings, db.sessions, report)

    page = usage(ws, "2026-01 - OpenAI - Tutor bot")
    stored = page.values[source(ws, "Usages LLM").find("Log Status")["id"]]  # type: ignore[index]
    assert [len(item["plain_text"]) for item in stored] == [2000, 2000, len(log) - 4000]
    assert ws.plain(page, "Log Status") == log


def test_sync_adds_what_a_database_made_by_hand_lacks(db: Db, notion: Callable[..., Any]) -> None:
    served, settings = notion()
    ws = served.emulator.dataset
    usages = source(ws, "Usages LLM")
    ws.update_schema(usages, {"Clé": None})

    result = sync_report(settings, db.sessions, monthly_report())

    assert result.schema_added == ["Clé"]
    assert usages.find("Clé") is not None


def test_it_paces_its_requests_and_waits_when_told_to(db: Db, notion: Callable[..., Any]) -> None:
    served, settings = notion(EmulatorConfig(rate_limit_per_second=5), notion_requests_per_second=4)
    report = monthly_report(
        [
            provider(
                "anthropic",
                "Anthropic",
                [project(None, "Default", "wrkspc_default", [line("claude-sonnet-4", "1.00")])],
            )
        ]
    )

    sync_report(settings, db.sessions, report)
    assert served.emulator.stats.rate_violations == 0

    served.emulator.config.throttle_first = served.emulator.stats.requests + 1  # the next request gets a 429
    served.emulator.config.retry_after = 1
    started = time.monotonic()
    sync_report(settings, db.sessions, report)
    assert served.emulator.stats.statuses.get(429) == 1
    assert time.monotonic() - started >= 1.0


def test_the_sync_is_recorded_for_the_collection_panel(db: Db, notion: Callable[..., Any]) -> None:
    _, settings = notion()
    sync_report(settings, db.sessions, monthly_report())

    with db.sessions() as session:
        row = session.scalars(select(Delivery).where(Delivery.channel == "notion")).one()
        assert (row.month, row.status, row.recipient) == ("2026-01", "sent", settings.notion_usages_db_id)


def test_a_refused_token_fails_clearly_and_never_shows_the_token(db: Db, notion: Callable[..., Any]) -> None:
    _, settings = notion()
    token = planted("ntn")
    wrong = settings.model_copy(update={"notion_api_key": settings.notion_api_key.__class__(token)})

    with pytest.raises(AuthenticationFailed, match="NOTION_API_KEY") as caught:
        sync_report(wrong, db.sessions, monthly_report())

    assert token not in str(caught.value)
    with db.sessions() as session:
        row = session.scalars(select(Delivery)).one()
        assert row.status == "failed" and token not in (row.last_error or "")


def test_it_names_what_is_missing_or_wrong_in_the_configuration(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    with pytest.raises(ConfigError, match="NOTION_SERVICES_DB_ID"):
        sync_report(make_settings(notion_api_key=DEMO_TOKEN), db.sessions, monthly_report())
    bad_key = make_settings(notion_api_key=DEMO_TOKEN, notion_properties='{"usages.price": "Price"}')
    with pytest.raises(ConfigError, match=r"COSTTRACKER_NOTION_PROPERTIES: unknown key usages\.price"):
        setup(bad_key, DEMO_PARENT_PAGE)
    with pytest.raises(InvalidInput, match="--parent-page"):
        setup(make_settings(notion_api_key=DEMO_TOKEN), "not a page")
