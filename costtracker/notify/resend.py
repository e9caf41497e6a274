"""Sending through Resend's HTTP API (``POST /emails``), with an ``Idempotency-Key`` per delivery.

Why not the ``resend`` SDK: its configuration is module-global (``resend.api_key`` and
``resend.api_url``, the latter read from ``RESEND_API_URL`` at import), so two settings in one
process, or two threads, would share one key and one origin; and it sends through ``requests``.
A plain ``httpx`` call keeps the key and origin per call (``COSTTRACKER_RESEND_BASE_URL``), like
every other source. The contract followed is resend-python 2.x and resend.com/docs:
``{"id"}`` on success, ``{"statusCode", "name", "message"}`` on error, a replay of a key with the
same payload returns the first id without sending again, and a key reused with another payload
is ``409 invalid_idempotent_request`` (the e-mail under that key did go out: we record it sent).
Quota errors (daily/monthly) are not worth retrying; rate limits and 5xx are, after ``Retry-After``.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from costtracker.http import USER_AGENT, parse_retry_after, redact
from costtracker.notify import AlreadyAccepted, DeliveryError, Pacer
from costtracker.notify.render_email import Email
from costtracker.settings import Settings

QUOTAS = {"daily_quota_exceeded", "monthly_quota_exceeded"}
REQUESTS_PER_SECOND = 2.0  # Resend's default limit, per team


def payload(email: Email, *, sender: str, recipient: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from": sender,
        "to": [recipient],
        "subject": email.subject,
        "html": email.html,
        "text": email.text,
    }
    if email.attachments:
        body["attachments"] = [
            _attachment(a.filename, a.content, a.content_type, a.content_id) for a in email.attachments
        ]
    return body


def _attachment(filename: str, content: bytes, content_type: str, content_id: str | None) -> dict[str, str]:
    item = {
        "filename": filename,
        "content": base64.b64encode(content).decode("ascii"),
        "content_type": content_type,
    }
    if content_id:
        item["content_id"] = content_id
    return item


class ResendTransport:
    channel = "resend"

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        if settings.resend_api_key is None or not settings.resend_api_key.get_secret_value():
            raise ValueError("RESEND_API_KEY is not set")
        self._key = settings.resend_api_key.get_secret_value()
        self.settings = settings
        self.url = f"{settings.resend_base_url}/emails"
        self._pacer = Pacer(REQUESTS_PER_SECOND)
        self._client = httpx.Client(
            timeout=settings.http_timeout_seconds, transport=transport, follow_redirects=False
        )

    def close(self) -> None:
        self._client.close()

    def send(self, email: Email, *, recipient: str, key: str) -> str:
        """One POST /emails; returns Resend's id. Raises DeliveryError (AlreadyAccepted on a 409 replay)."""
        headers = {"Authorization": f"Bearer {self._key}", "Idempotency-Key": key, "User-Agent": USER_AGENT}
        body = payload(email, sender=self.settings.email_from, recipient=recipient)
        self._pacer.wait()
        try:
            response = self._client.post(self.url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError("Resend did not answer in time") from None
        except httpx.TransportError as exc:
            raise DeliveryError(f"Resend could not be reached ({type(exc).__name__})") from None
        if response.status_code == 200:
            return self._id(response)
        raise self._error(response)

    def _id(self, response: httpx.Response) -> str:
        try:
            found = response.json().get("id")
        except (ValueError, AttributeError):
            found = None
        if not isinstance(found, str) or not found:
            raise DeliveryError("Resend answered 200 without an e-mail id", permanent=True)
        return found

    def _error(self, response: httpx.Response) -> DeliveryError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        name = str(body.get("name", "")) if isinstance(body, dict) else ""
        message = str(body.get("message", response.reason_phrase)) if isinstance(body, dict) else ""
        text = f"Resend refused the e-mail ({status} {name}: {redact(message, [self._key])[:300]})"
        if status == 409 and name == "invalid_idempotent_request":
            return AlreadyAccepted(text, permanent=True)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            return DeliveryError(text, permanent=name in QUOTAS, retry_after=retry_after)
        if status >= 500 or (status == 409 and name == "concurrent_idempotent_requests"):
            return DeliveryError(text, retry_after=retry_after)
        if status in (401, 403):
            text += "; check RESEND_API_KEY"
        return DeliveryError(text, permanent=True)
