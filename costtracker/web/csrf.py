"""CSRF checks for cookie-authenticated requests that change state.

Each browser session has a token (stored with the session). Forms send it back in a hidden
``csrf_token`` field (``{{ csrf_field(request) }}`` in a template), scripts in the
``X-CSRF-Token`` header (``static/csrf.js`` reads it from ``<meta name="csrf-token">``).
Requests authenticated with a bearer token carry no cookie, so they need none.

Reading a form field in a middleware means reading the body first: it is buffered and
replayed to the route unchanged.
"""

from __future__ import annotations

import hmac
from typing import Any

from markupsafe import Markup
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Message, Receive, Scope

HEADER = "x-csrf-token"
FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the client sends next."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}


async def form_token(scope: Scope, body: bytes) -> str | None:
    """The ``csrf_token`` field of a form body, or None (malformed bodies included)."""
    request = Request(scope, replay(body, _disconnected))
    try:
        form = await request.form()
    except Exception:  # a malformed body is simply a request without a token
        return None
    try:
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


async def check(scope: Scope, receive: Receive, expected: str) -> tuple[bool, Receive]:
    """Whether the request carries ``expected``; and the ``receive`` the app must now use."""
    headers = Headers(scope=scope)
    given = headers.get(HEADER)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if given is None and content_type in FORM_TYPES:
        body = await read_body(receive)
        receive = replay(body, receive)
        given = await form_token(scope, body)
    ok = given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())
    return ok, receive


def csrf_field(request: Any) -> Markup:
    """A hidden input with the session's token, for every form that changes state."""
    principal = getattr(request.state, "principal", None)
    token = getattr(principal, "csrf_token", None) or ""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token)
