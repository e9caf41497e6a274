"""The monthly e-mail through Resend's API (its emulator on loopback): one key, one e-mail per recipient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.resend import DEMO_KEY, Mailbox
from costtracker.emulators.serve import Served
from costtracker.notify.email import send_report, send_test
from costtracker.notify.render_email import CHART_CID, report_csv
from costtracker.settings import Settings
from costtracker.store.models import Delivery
from tests.conftest import Db
from tests.leakcheck import planted
from tests.notify.conftest import SmtpServer
from tests.notify.reports import monthly_report

RECIPIENTS = ["cfo@example.com", "founder@example.com"]


@pytest.fixture
def resend(emulator: Callable[..., Served], make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    def start(config: EmulatorConfig | None = None, **values: Any) -> tuple[Mailbox, Settings]:
        served = emulator("resend", config)
        values.setdefault("resend_api_key", DEMO_KEY)
        values.setdefault("report_email_to", ", ".join(RECIPIENTS))
        settings = make_settings(
            resend_base_url=served.origin,
            email_from="Costs <costs@example.com>",
            secret_key="test-secret-key-0123456789abcdef",
            http_backoff_seconds=0,
            **values,
        )
        return served.emulator.dataset, settings

    return start


def test_running_twice_sends_one_email_per_recipient_under_one_key_each(
    db: Db, resend: Callable[..., Any]
) -> None:
    mailbox, settings = resend()
    report = monthly_report()

    first = send_report(settings, db.sessions, report)
    second = send_report(settings, db.sessions, report)

    assert [r.status for r in first] == ["sent", "sent"] and [r.status for r in second] == [
        "skipped",
        "skipped",
    ]
    assert sorted(address for email in mailbox.sent for address in email["to"]) == RECIPIENTS
    assert len(mailbox.requests_with_key) == len(set(mailbox.requests_with_key)) == len(RECIPIENTS)
    assert {r.external_id for r in first} == {email["id"] for email in mailbox.sent}


def test_the_email_carries_both_bodies_the_inline_chart_and_the_csv(
    db: Db, resend: Callable[..., Any]
) -> None:
    mailbox, settings = resend(report_email_to=RECIPIENTS[0])
    report = monthly_report()

    send_report(settings, db.sessions, report)

    [email] = mailbox.sent
    assert email["from"] == "Costs <costs@example.com>" and email["to"] == [RECIPIENTS[0]]
    assert "AI costs, January 2026" in email["subject"]
    assert f"cid:{CHART_CID}" in email["html"] and "Full report: http" in email["text"]
    chart, csv = email["attachments"]
    assert chart["content_id"] == CHART_CID and chart["content"].startswith(b"\x89PNG")
    assert csv["filename"] == "costs-2026-01.csv" and csv["content"] == report_csv(report)


def test_a_send_whose_answer_was_lost_is_not_sent_again(db: Db, resend: Callable[..., Any]) -> None:
    mailbox, settings = resend(report_email_to=RECIPIENTS[0])
    send_report(settings, db.sessions, monthly_report())
    with db.sessions.begin() as session:  # as if the process died before recording the success
        session.execute(update(Delivery).values(status="failed"))

    changed = settings.model_copy(update={"public_url": "https://elsewhere.example.com"})  # another body
    [result] = send_report(changed, db.sessions, monthly_report())

    assert result.status == "sent" and "invalid_idempotent_request" in (result.reason or "")
    assert len(mailbox.sent) == 1


def test_it_sends_again_when_asked_under_a_new_key(db: Db, resend: Callable[..., Any]) -> None:
    mailbox, settings = resend(report_email_to=RECIPIENTS[0])
    send_report(settings, db.sessions, monthly_report())

    [again] = send_report(settings, db.sessions, monthly_report(), resend=True)

    assert again.status == "sent" and len(mailbox.sent) == 2
    first_key, second_key = (email["idempotency_key"] for email in mailbox.sent)
    assert second_key.startswith(first_key + "/again-")


def test_a_rate_limit_is_waited_out_then_retried(db: Db, resend: Callable[..., Any]) -> None:
    mailbox, settings = resend(EmulatorConfig(throttle_first=1, retry_after=2), report_email_to=RECIPIENTS[0])
    delays: list[float] = []

    [result] = send_report(settings, db.sessions, monthly_report(), sleep=delays.append)

    assert result.status == "sent" and result.attempts == 2
    assert delays == [2.0]
    assert len(mailbox.sent) == 1


def test_a_refused_key_fails_at_once_and_is_never_shown(db: Db, resend: Callable[..., Any]) -> None:
    key = planted("re")
    mailbox, settings = resend(resend_api_key=key, report_email_to=RECIPIENTS[0])

    [result] = send_report(settings, db.sessions, monthly_report())

    assert result.status == "failed" and result.attempts == 1
    assert "403 invalid_api_key" in (result.reason or "") and key not in (result.reason or "")
    with db.sessions() as session:
        assert key not in (session.scalars(select(Delivery)).one().last_error or "")
    assert mailbox.sent == []


def test_switching_to_smtp_does_not_send_the_month_again(
    db: Db, resend: Callable[..., Any], smtp_server: Callable[..., SmtpServer]
) -> None:
    _, settings = resend(report_email_to=RECIPIENTS[0])
    send_report(settings, db.sessions, monthly_report())
    server = smtp_server()
    smtp = settings.model_copy(
        update={"resend_api_key": None, "smtp_host": "127.0.0.1", "smtp_port": server.port}
    )

    [result] = send_report(smtp, db.sessions, monthly_report())

    assert result.status == "skipped" and result.channel == "resend"
    assert server.inbox.messages == []


def test_it_sends_a_test_message(resend: Callable[..., Any]) -> None:
    mailbox, settings = resend()

    channel, email_id = send_test(settings, "ops@example.com")

    [email] = mailbox.sent
    assert channel == "resend" and email["id"] == email_id and email["to"] == ["ops@example.com"]
    assert email["attachments"] == []  # a test message has none
