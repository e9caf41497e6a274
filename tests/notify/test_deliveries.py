"""Deliveries through the month's close: twice closed, once e-mailed, Notion updated in place."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select

from costtracker.emulators.notion import DEMO_PARENT_PAGE, DEMO_TOKEN
from costtracker.emulators.serve import Served
from costtracker.notify.deliveries import delivery_problems
from costtracker.notify.email import send_report
from costtracker.notify.notion import setup
from costtracker.notify.notion_schema import LABELS
from costtracker.reports.close import close_month
from costtracker.settings import Settings
from costtracker.store.models import Delivery, ReportSnapshot
from tests.conftest import Db
from tests.notify.conftest import SmtpServer, free_port
from tests.notify.reports import monthly_report

RECIPIENTS = ["cfo@example.com", "founder@example.com"]


def test_closing_a_month_twice_sends_one_message_each_and_updates_notion_in_place(
    db: Db,
    smtp_server: Callable[..., SmtpServer],
    emulator: Callable[..., Served],
    make_settings: Callable[..., Settings],
) -> None:
    server, notion = smtp_server(), emulator("notion")
    settings = make_settings(
        smtp_host=server.host,
        smtp_port=server.port,
        report_email_to=", ".join(RECIPIENTS),
        secret_key="test-secret-key-0123456789abcdef",
        notion_api_key=DEMO_TOKEN,
        notion_base_url=notion.origin,
        notion_requests_per_second=100,
    )
    services, usages = setup(settings, DEMO_PARENT_PAGE)
    settings = settings.model_copy(update={"notion_services_db_id": services, "notion_usages_db_id": usages})
    report = monthly_report()
    with db.sessions.begin() as session:
        session.add(ReportSnapshot(month=report.month, data=report.to_dict()))
    ws = notion.emulator.dataset

    first = asyncio.run(
        close_month(settings, db.sessions, report.month, send=True, notion=True, collect=False)
    )
    pages_after_first = set(ws.pages)
    second = asyncio.run(
        close_month(settings, db.sessions, report.month, send=True, notion=True, collect=False)
    )

    assert first.ok and second.ok, first.problems + second.problems
    assert [len(server.inbox.to(address)) for address in RECIPIENTS] == [1, 1]
    assert set(ws.pages) == pages_after_first
    rows = sum(max(1, len(p.projects)) for p in report.providers)
    assert len(ws.pages) == len(report.providers) + rows
    failed = next(p for p in report.providers if p.status == "failed")
    usages_source = ws.databases[usages].data_source_ids[0]
    page = next(
        p
        for p in ws.pages.values()
        if p.data_source_id == usages_source
        and ws.plain(p, "Identifiant") == f"{report.month} - {failed.name}"
    )
    assert ws.plain(page, "Statut Collecte") == LABELS["status.failed"]
    assert ws.plain(page, "Log Status") == failed.reason
    text = server.inbox.messages[0].get_body(("plain",))
    assert text is not None and f"{failed.name}: Failed, {failed.reason}" in text.get_content()


def test_what_did_not_go_out_is_listed_for_the_panel(db: Db, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        report_email_to=RECIPIENTS[0],
        http_max_retries=0,
        secret_key="test-secret-key-0123456789abcdef",
    )
    send_report(settings, db.sessions, monthly_report())

    with db.sessions() as session:
        problems = delivery_problems(session, month="2026-01")
        assert [(d.recipient, d.channel, d.status) for d in problems] == [(RECIPIENTS[0], "smtp", "failed")]
        assert "could not be reached" in (problems[0].last_error or "")
        assert delivery_problems(session, month="2025-12") == []
        assert session.scalars(select(Delivery)).one().attempts == 1
