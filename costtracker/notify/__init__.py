"""Delivering the monthly report: e-mail (Resend or SMTP) and the two linked Notion databases.

``notify.email.send_report`` sends the report once per recipient and month (``Delivery`` rows);
``notify.notion.sync_report`` writes it to Notion, updating pages in place. Both are blocking
(smtplib, the sync Notion client): async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from costtracker.errors import ConfigError, CostTrackerError
from costtracker.settings import Settings

ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class DeliveryError(CostTrackerError):
    """A transport refused or failed a message. ``permanent`` failures are not retried."""

    code = "delivery_failed"
    status_code = 502

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class AlreadyAccepted(DeliveryError):
    """The transport already accepted a message under this idempotency key (Resend 409)."""


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one recipient: ``sent``, ``skipped`` (already sent, or being sent) or ``failed``."""

    recipient: str
    channel: str
    status: str
    attempts: int = 0
    external_id: str | None = None
    reason: str | None = None


def parse_recipients(value: str | None, setting: str = "REPORT_EMAIL_TO") -> list[str]:
    """``a@x.com, b@y.org`` -> two addresses, in order, without duplicates; a bad one is a ConfigError."""
    found: list[str] = []
    for part in (value or "").split(","):
        address = part.strip()
        if not address:
            continue
        if not ADDRESS.match(address):
            raise ConfigError(setting, f"{address!r} is not an e-mail address")
        if address.lower() not in {seen.lower() for seen in found}:
            found.append(address)
    if not found:
        raise ConfigError(setting, "no recipient: give one or more addresses, comma separated")
    return found


def report_url(settings: Settings, month: str) -> str:
    """The signed link to the full report page (it expires after ``COSTTRACKER_REPORT_LINK_DAYS``)."""
    from costtracker.auth.signing import resolve_secret_key, sign_report_link

    path = sign_report_link(resolve_secret_key(settings), month, timedelta(days=settings.report_link_days))
    return settings.public_url.rstrip("/") + path


class Pacer:
    """At most ``per_second`` calls per second from this process (a provider's documented average)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval
