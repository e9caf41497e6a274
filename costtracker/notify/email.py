"""Sending the monthly report by e-mail, once per month and recipient, with retries.

Transport: Resend when ``RESEND_API_KEY`` is set, else SMTP when ``COSTTRACKER_SMTP_HOST`` is.
For each recipient of ``REPORT_EMAIL_TO`` the delivery is claimed first (``deliveries.claim``),
so running the close twice, or in two processes, sends one message; ``resend=True`` sends
again on purpose (with a new idempotency key). Temporary failures are retried with backoff
(``Retry-After`` first); the last error stays on the ``Delivery`` row for the panel.
Blocking: async callers use ``await asyncio.to_thread(send_report, ...)``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from costtracker.collect.locks import acquire, holder_id, release
from costtracker.errors import ConfigError
from costtracker.notify import AlreadyAccepted, DeliveryError, DeliveryResult, parse_recipients, report_url
from costtracker.notify.deliveries import AlreadySent, Claim, claim, record
from costtracker.notify.render_email import Email, render_report, render_test
from costtracker.reports.model import MonthlyReport
from costtracker.settings import Settings

log = logging.getLogger(__name__)


class Transport(Protocol):
    channel: str

    def send(self, email: Email, *, recipient: str, key: str) -> str: ...


def make_transport(settings: Settings) -> Transport:
    """Resend if configured, else SMTP; neither is a ConfigError naming both."""
    if settings.resend_api_key is not None and settings.resend_api_key.get_secret_value():
        from costtracker.notify.resend import ResendTransport

        return ResendTransport(settings)
    if settings.smtp_host:
        from costtracker.notify.smtp import SmtpTransport

        return SmtpTransport(settings)
    raise ConfigError(
        "RESEND_API_KEY", "no e-mail transport: set RESEND_API_KEY, or COSTTRACKER_SMTP_HOST for SMTP"
    )


def send_report(
    settings: Settings,
    sessions: sessionmaker[Session],
    report: MonthlyReport,
    *,
    resend: bool = False,
    transport: Transport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryResult]:
    """Send ``report`` to every recipient that has not had it yet (all of them with ``resend``)."""
    recipients = parse_recipients(settings.report_email_to)
    transport = transport or make_transport(settings)
    email = render_report(report, url=report_url(settings, report.month))
    holder = holder_id()
    try:
        return [
            _deliver(
                settings,
                sessions,
                transport,
                email,
                report.month,
                recipient,
                resend=resend,
                holder=holder,
                sleep=sleep,
            )
            for recipient in recipients
        ]
    finally:
        close = getattr(transport, "close", None)
        if callable(close):
            close()


def _deliver(
    settings: Settings,
    sessions: sessionmaker[Session],
    transport: Transport,
    email: Email,
    month: str,
    recipient: str,
    *,
    resend: bool,
    holder: str,
    sleep: Callable[[float], None],
) -> DeliveryResult:
    lock = f"deliver:{month}:{recipient.lower()}"
    if acquire(sessions, lock, holder, None) is not None:
        return DeliveryResult(recipient, transport.channel, "skipped", reason="another process is sending it")
    try:
        claimed = claim(sessions, month=month, channel=transport.channel, recipient=recipient, resend=resend)
        if isinstance(claimed, AlreadySent):
            when = f" on {claimed.sent_at:%Y-%m-%d %H:%M} UTC" if claimed.sent_at else ""
            return DeliveryResult(
                recipient,
                claimed.channel,
                "skipped",
                reason=f"already sent{when} (use --resend to send it again)",
            )
        return _attempts(settings, sessions, transport, email, recipient, claimed, sleep)
    finally:
        release(sessions, lock, holder)


def _attempts(
    settings: Settings,
    sessions: sessionmaker[Session],
    transport: Transport,
    email: Email,
    recipient: str,
    claimed: Claim,
    sleep: Callable[[float], None],
) -> DeliveryResult:
    channel, tries = transport.channel, settings.http_max_retries + 1
    for number in range(tries):
        try:
            external_id = transport.send(email, recipient=recipient, key=claimed.key)
        except AlreadyAccepted as exc:
            attempts = record(sessions, claimed.id, status="sent", error=exc.message)
            log.info("report e-mail to %s was already accepted under its idempotency key", recipient)
            return DeliveryResult(recipient, channel, "sent", attempts, reason=exc.message)
        except DeliveryError as exc:
            attempts = record(sessions, claimed.id, status="failed", error=exc.message)
            log.warning("report e-mail to %s, attempt %d: %s", recipient, number + 1, exc.message)
            if exc.permanent or number + 1 == tries:
                return DeliveryResult(recipient, channel, "failed", attempts, reason=exc.message)
            sleep(_delay(settings, exc, number))
        else:
            attempts = record(sessions, claimed.id, status="sent", external_id=external_id)
            log.info("report e-mail sent to %s via %s (%s)", recipient, channel, external_id)
            return DeliveryResult(recipient, channel, "sent", attempts, external_id=external_id)
    raise AssertionError("unreachable")  # pragma: no cover


def _delay(settings: Settings, error: DeliveryError, number: int) -> float:
    if error.retry_after is not None:
        return min(error.retry_after, settings.http_max_retry_after_seconds)
    return float(settings.http_backoff_seconds * 2**number)


def send_test(settings: Settings, to: str, *, transport: Transport | None = None) -> tuple[str, str]:
    """Send a small test message to ``to`` now (no delivery row); returns (channel, message id)."""
    address = parse_recipients(to, setting="--to")[0]
    transport = transport or make_transport(settings)
    try:
        sent = transport.send(
            render_test(settings.email_from), recipient=address, key=f"costtracker/test/{uuid.uuid4().hex}"
        )
    finally:
        close = getattr(transport, "close", None)
        if callable(close):
            close()
    return transport.channel, sent
