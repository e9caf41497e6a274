"""The monthly e-mail over a real SMTP server (aiosmtpd on loopback): once per recipient, complete."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from costtracker.collect.locks import acquire
from costtracker.errors import ConfigError
from costtracker.notify.email import send_report, send_test
from costtracker.notify.render_email import CHART_CID, money, report_csv
from costtracker.settings import Settings
from costtracker.store.models import Delivery
from tests.conftest import Db
from tests.leakcheck import planted
from tests.notify.conftest import SmtpServer, free_port
from tests.notify.reports import monthly_report

RECIPIENTS = ["cfo@example.com", "founder@example.com"]


@pytest.fixture
def smtp_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def build(server: SmtpServer | None = None, **values: Any) -> Settings:
        values.setdefault("report_email_to", ", ".join(RECIPIENTS))
        values.setdefault("http_backoff_seconds", 0)
        return make_settings(
            smtp_host="127.0.0.1",
            smtp_port=server.port if server else free_port(),
            email_from="Costs <costs@example.com>",
            secret_key="test-secret-key-0123456789abcdef",
            public_url="https://costs.example.com",
            **values,
        )

    return build


def test_it_sends_one_message_per_recipient_however_often_it_runs(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    server = smtp_server()
    settings, report = smtp_settings(server), monthly_report()

    first = send_report(settings, db.sessions, report)
    second = send_report(settings, db.sessions, report)

    assert [r.status for r in first] == ["sent", "sent"]
    assert [r.status for r in second] == ["skipped", "skipped"]
    assert all("already sent" in (r.reason or "") for r in second)
    for address in RECIPIENTS:
        assert len(server.inbox.to(address)) == 1
    with db.sessions() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.recipient)).all()
        assert [(r.recipient, r.channel, r.status, r.attempts) for r in rows] == [
            (address, "smtp", "sent", 1) for address in RECIPIENTS
        ]


def test_it_sends_text_and_html_with_the_chart_inline_and_the_csv_attached(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    server = smtp_server()
    report = monthly_report()
    send_report(smtp_settings(server, report_email_to=RECIPIENTS[0]), db.sessions, report)

    [message] = server.inbox.messages
    assert message.get_content_type() == "multipart/mixed"
    types = [part.get_content_type() for part in message.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/csv",
    ]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    total = money(report.total, "USD")
    assert total in text.get_content() and total in html.get_content()
    assert "https://costs.example.com/report/2026-01?expires=" in text.get_content()
    assert f'src="cid:{CHART_CID}"' in html.get_content()
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == f"<{CHART_CID}>"
    assert Image.open(io.BytesIO(image.get_content())).size == (640, 260)
    [csv_part] = [part for part in message.walk() if part.get_content_type() == "text/csv"]
    assert csv_part.get_filename() == "costs-2026-01.csv"
    assert csv_part.get_payload(decode=True) == report_csv(report)


def test_it_shows_a_failed_provider_as_failed_with_its_reason_and_no_amount(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    server = smtp_server()
    report = monthly_report()
    failed = next(p for p in report.providers if p.status == "failed")
    send_report(smtp_settings(server, report_email_to=RECIPIENTS[0]), db.sessions, report)

    [message] = server.inbox.messages
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"- {failed.name}: Failed, {failed.reason}" in text
    assert f"- {failed.name} [Failed]: unknown" in text
    assert "$0.00" not in text
    assert f"<strong>{failed.name}</strong>: Failed, {failed.reason}" in html
    assert "1 provider not fully collected" in str(message["Subject"])


def test_it_sends_again_only_when_asked(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    server = smtp_server()
    settings, report = smtp_settings(server, report_email_to=RECIPIENTS[0]), monthly_report()
    send_report(settings, db.sessions, report)
    again = send_report(settings, db.sessions, report, resend=True)

    assert [r.status for r in again] == ["sent"]
    first, second = server.inbox.messages
    assert first["Message-ID"] != second["Message-ID"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_it_logs_in_over_tls(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings], security: str
) -> None:
    password = planted("smtp-password")
    server = smtp_server(security, login=("mailer", password))
    settings = smtp_settings(
        server,
        smtp_security=security,
        smtp_username="mailer",
        smtp_password=password,
        report_email_to=RECIPIENTS[0],
    )

    [result] = send_report(settings, db.sessions, monthly_report())

    assert result.status == "sent", result.reason
    assert len(server.inbox.messages) == 1


def test_it_never_shows_the_smtp_password_when_the_login_is_refused(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    wrong = planted("smtp-password")
    server = smtp_server("starttls", login=("mailer", "the-right-one"))
    settings = smtp_settings(
        server,
        smtp_security="starttls",
        smtp_username="mailer",
        smtp_password=wrong,
        report_email_to=RECIPIENTS[0],
    )

    [result] = send_report(settings, db.sessions, monthly_report())

    assert result.status == "failed" and result.attempts == 1  # a refused login is not retried
    assert "refused the login" in (result.reason or "") and wrong not in (result.reason or "")
    with db.sessions() as session:
        row = session.scalars(select(Delivery)).one()
        assert row.status == "failed" and wrong not in (row.last_error or "")


def test_it_retries_an_unreachable_server_then_records_the_failure_and_sends_next_time(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    settings = smtp_settings(
        None, report_email_to=RECIPIENTS[0], http_max_retries=2, http_backoff_seconds=0.25
    )
    delays: list[float] = []

    [result] = send_report(settings, db.sessions, monthly_report(), sleep=delays.append)

    assert result.status == "failed" and result.attempts == 3
    assert delays == [0.25, 0.5]
    with db.sessions() as session:
        row = session.scalars(select(Delivery)).one()
        assert row.status == "failed" and "could not be reached" in (row.last_error or "")

    server = smtp_server()
    retried = send_report(smtp_settings(server, report_email_to=RECIPIENTS[0]), db.sessions, monthly_report())
    assert [r.status for r in retried] == ["sent"]
    assert len(server.inbox.messages) == 1


def test_it_leaves_a_recipient_to_the_process_already_sending_to_it(
    db: Db, smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    server = smtp_server()
    assert acquire(db.sessions, f"deliver:2026-01:{RECIPIENTS[0]}", "other-host:1:abc", None) is None

    results = send_report(smtp_settings(server), db.sessions, monthly_report())

    assert [(r.recipient, r.status) for r in results] == [(RECIPIENTS[0], "skipped"), (RECIPIENTS[1], "sent")]
    assert len(server.inbox.messages) == 1


def test_it_refuses_to_send_without_a_recipient_or_a_transport(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    with pytest.raises(ConfigError, match="REPORT_EMAIL_TO"):
        send_report(make_settings(smtp_host="127.0.0.1"), db.sessions, monthly_report())
    with pytest.raises(ConfigError, match="RESEND_API_KEY"):
        send_report(make_settings(report_email_to="a@example.com"), db.sessions, monthly_report())
    with pytest.raises(ConfigError, match="not an e-mail address"):
        send_report(make_settings(report_email_to="a@example.com, nobody"), db.sessions, monthly_report())


def test_it_sends_a_test_message(
    smtp_server: Callable[..., SmtpServer], smtp_settings: Callable[..., Settings]
) -> None:
    server = smtp_server()

    channel, message_id = send_test(smtp_settings(server), "ops@example.com")

    [message] = server.inbox.to("ops@example.com")
    assert channel == "smtp" and message["Message-ID"] == message_id
    assert "test message" in str(message["Subject"])
