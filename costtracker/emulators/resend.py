"""Resend's e-mail API, offline: ``POST /emails`` records what would have been sent.

Follows resend-python 2.x / resend-node and resend.com/docs (api-reference, errors,
idempotency-keys): bearer key, ``{"id"}`` on success, ``{"statusCode", "name", "message"}`` on
errors (401 ``missing_api_key``, 403 ``invalid_api_key``, 422 ``validation_error`` /
``missing_required_field``, 429 ``rate_limit_exceeded``). ``Idempotency-Key`` (1-256 chars,
else 400 ``invalid_idempotency_key``): the same key with the same payload answers the first id
and sends nothing; with another payload, 409 ``invalid_idempotent_request``. Keys are kept for
the emulator's life (Resend keeps them 24 hours). Responses carry ``ratelimit-*`` headers.

``GET /emails/{id}`` returns a recorded e-mail. ``emulator.dataset.sent`` lists every e-mail
actually sent (attachments decoded), ``.keys`` every idempotency key seen.
Knobs in ``EmulatorConfig.extra``: ``keys`` (extra accepted API keys).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from costtracker.clock import utcnow
from costtracker.emulators.base import Emulator, EmulatorConfig, bearer

DEMO_KEY = "re_demo_5f0c3a9e71b24d68"
DEMO_ENV = {"RESEND_API_KEY": DEMO_KEY}
LIMIT_PER_SECOND = 2
ADDRESS = re.compile(r"^(?:[^<>]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?$")
NAMES = {
    400: "validation_error",
    401: "missing_api_key",
    403: "invalid_api_key",
    404: "not_found",
    409: "invalid_idempotent_request",
    422: "validation_error",
    429: "rate_limit_exceeded",
    500: "internal_server_error",
}


class ResendError(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


def error_body(status: int, message: str, name: str | None = None) -> dict[str, Any]:
    return {"statusCode": status, "name": name or NAMES.get(status, "application_error"), "message": message}


@dataclass
class Mailbox:
    """What the emulator was asked to send."""

    api_keys: set[str]
    sent: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # idempotency key -> (payload hash, id)
    requests_with_key: list[str] = field(default_factory=list)


def _check_payload(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ResendError(422, "validation_error", "The request body must be a JSON object.")
    for name in ("from", "to", "subject"):
        if not body.get(name):
            raise ResendError(422, "missing_required_field", f"Missing `{name}` field.")
    if not (body.get("html") or body.get("text")):
        raise ResendError(422, "missing_required_field", "Missing `html` or `text` field.")
    recipients = body["to"] if isinstance(body["to"], list) else [body["to"]]
    if len(recipients) > 50:
        raise ResendError(422, "validation_error", "Too many recipients: the `to` field accepts at most 50.")
    for address in [body["from"], *recipients]:
        if not isinstance(address, str) or not ADDRESS.match(address.strip()):
            raise ResendError(
                422,
                "validation_error",
                "Invalid `to` field. The email address needs to follow "
                "the `email@example.com` or `Name <email@example.com>` format.",
            )
    return {**body, "to": recipients}


def _attachments(body: dict[str, Any]) -> list[dict[str, Any]]:
    decoded = []
    for item in body.get("attachments") or []:
        if not isinstance(item, dict) or not item.get("filename") or "content" not in item:
            raise ResendError(422, "invalid_attachment", "Attachment must have a `filename` and a `content`.")
        content = item["content"]
        try:
            raw = bytes(content) if isinstance(content, list) else base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ResendError(422, "invalid_attachment", "Attachment `content` must be base64.") from None
        decoded.append(
            {
                "filename": item["filename"],
                "content": raw,
                "content_type": item.get("content_type"),
                "content_id": item.get("content_id") or item.get("inline_content_id"),
            }
        )
    return decoded


class ResendApi:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    def _authorise(self, request: Request) -> None:
        key = bearer(request)
        if not key:
            raise ResendError(401, "missing_api_key", "Missing API key in the authorization header.")
        if key not in self.mailbox.api_keys:
            raise ResendError(403, "invalid_api_key", "API key is invalid.")

    async def send(self, request: Request) -> JSONResponse:
        self._authorise(request)
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            raise ResendError(400, "validation_error", "The request body is not valid JSON.") from None
        key = request.headers.get("idempotency-key")
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if key is not None:
            if not 1 <= len(key) <= 256:
                raise ResendError(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
            self.mailbox.requests_with_key.append(key)
            if key in self.mailbox.keys:
                seen, email_id = self.mailbox.keys[key]
                if seen != digest:
                    raise ResendError(
                        409,
                        "invalid_idempotent_request",
                        "Same idempotency key used with a "
                        "different request payload. Change your idempotency key or payload.",
                    )
                return _ok({"id": email_id})
        email = _check_payload(body)
        email_id = str(uuid.uuid4())
        record = {
            "id": email_id,
            "object": "email",
            "created_at": utcnow().isoformat(),
            "last_event": "delivered",
            "idempotency_key": key,
            **email,
            "attachments": _attachments(email),
        }
        self.mailbox.sent.append(record)
        self.mailbox.by_id[email_id] = record
        if key is not None:
            self.mailbox.keys[key] = (digest, email_id)
        return _ok({"id": email_id})

    async def get(self, request: Request) -> JSONResponse:
        self._authorise(request)
        record = self.mailbox.by_id.get(request.path_params["email_id"])
        if record is None:
            raise ResendError(404, "not_found", "Email not found.")
        shown = {k: v for k, v in record.items() if k not in ("attachments", "idempotency_key")}
        return _ok(shown)


def _ok(body: dict[str, Any]) -> JSONResponse:
    headers = {
        "ratelimit-limit": str(LIMIT_PER_SECOND),
        "ratelimit-remaining": str(LIMIT_PER_SECOND - 1),
        "ratelimit-reset": "1",
    }
    return JSONResponse(body, headers=headers)


async def _resend_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ResendError)
    return JSONResponse(error_body(exc.status, exc.message, exc.name), exc.status)


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    mailbox = Mailbox(api_keys={DEMO_KEY, *config.extra.get("keys", ())})
    api = ResendApi(mailbox)
    app = Starlette(
        routes=[
            Route("/emails", api.send, methods=["POST"]),
            Route("/emails/{email_id}", api.get, methods=["GET"]),
        ],
        exception_handlers={ResendError: _resend_error},
    )
    return Emulator(app, config, error_body, mailbox)
