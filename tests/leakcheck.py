"""Secrets must never come out: not in a log line, a response body or a response header.

The autouse fixture ``no_secret_leaks`` (tests/conftest.py) watches every test of the suite:

* **Planted secrets.** Tests that want to prove something does not leak plant values made by
  :func:`planted` (a provider key, a password...). They all contain ``PLANTED-SECRET``, which
  nothing else uses, so any occurrence in a log line or in any response is a leak.
* **Configured secrets.** Values of environment variables whose name has ``_KEY``, ``_TOKEN``,
  ``_PASSWORD`` or ``_SECRET`` as a part (``_FILE`` paths excepted), and the ``SecretStr``
  values of every ``Settings`` built during the test. Only values that cannot be mistaken for
  ordinary text count: at least 12 characters, not only letters.
* **Where.** Every log record that reaches the root logger during the test (message and
  traceback), and every response a ``TestClient`` receives: headers at once, the body as it is
  read. Responses of a costtracker app (``create_app``, title ``costtracker``) are checked for
  both kinds; responses of other apps (the providers' emulators, which may echo a key they were
  sent, as real APIs do) for planted secrets only.

A leak fails the test at teardown, naming where it was seen (a configured secret is shown by
its first four characters only). A test that logs a secret on purpose, e.g. to test a
redaction filter, opts out with ``@pytest.mark.leaks_secrets``.

Limits: records below the level a logger emits are never created, so they are not seen (the
suite does not lower log levels); what CLI subprocesses print is not seen.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette import testclient

from costtracker.logs import secret_values
from costtracker.settings import Settings

MARKER = "PLANTED-SECRET"
MIN_LENGTH = 12
BODY_LIMIT = 2_000_000
SECRET_NAME = re.compile(r"_(KEY|TOKEN|PASSWORD|SECRET)(_|$)")


def planted(what: str) -> str:
    """A recognisable secret value, e.g. ``planted("sk-admin")``."""
    return f"{what}-{MARKER}-{secrets.token_hex(8)}"


def unmistakable(value: str) -> bool:
    return len(value) >= MIN_LENGTH and not value.isalpha()


class LeakWatch:
    """Collects the leaks seen during one test."""

    def __init__(self) -> None:
        self.settings: list[Settings] = []
        self.leaks: list[str] = []

    def configured_secrets(self) -> set[str]:
        values = {
            value
            for name, value in os.environ.items()
            if SECRET_NAME.search(name.upper()) and not name.upper().endswith("_FILE")
        }
        for settings in self.settings:
            values.update(secret_values(settings))
        return {value for value in values if unmistakable(value)}

    def check(self, where: str, text: str, *, strict: bool) -> None:
        if MARKER in text:
            self.leaks.append(f"{where}: a planted secret ({_excerpt(text, MARKER)})")
        if not strict:
            return
        for secret in self.configured_secrets():
            if secret in text:
                self.leaks.append(f"{where}: a configured secret ({secret[:4]}...)")

    def fail_on_leaks(self) -> None:
        if self.leaks:
            pytest.fail("secrets leaked:\n  " + "\n  ".join(dict.fromkeys(self.leaks)), pytrace=False)


def _excerpt(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 40) : at + 40].replace("\n", " ")


class _LogHandler(logging.Handler):
    def __init__(self, watch: LeakWatch) -> None:
        super().__init__(logging.NOTSET)
        self.watch = watch
        self.traceback = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.traceback.formatException(record.exc_info)
        self.watch.check(f"log record of {record.name}", text, strict=True)


# the httpx (or httpx2) that starlette uses
SyncByteStream: Any = testclient.httpx.SyncByteStream  # type: ignore[attr-defined]


class _ScanningStream(SyncByteStream):  # type: ignore[misc]
    """Passes the body through unchanged, and checks what was read when it is closed."""

    def __init__(self, inner: Any, check: Callable[[bytes], None]) -> None:
        self.inner, self.check, self.seen, self.checked = inner, check, bytearray(), False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if len(self.seen) < BODY_LIMIT:
                self.seen.extend(chunk)
            yield chunk

    def close(self) -> None:
        if not self.checked:
            self.checked = True
            self.check(bytes(self.seen))
        if hasattr(self.inner, "close"):
            self.inner.close()


def _watch_responses(watch: LeakWatch, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = testclient._TestClientTransport
    original = transport.handle_request

    def handle_request(self: Any, request: Any) -> Any:
        response = original(self, request)
        strict = getattr(self.app, "title", None) == "costtracker"
        where = f"response to {request.method} {request.url.path}"
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.multi_items())
        watch.check(f"{where} (headers)", headers, strict=strict)

        def check_body(body: bytes) -> None:
            watch.check(f"{where} (body)", body.decode("utf-8", "replace"), strict=strict)

        response.stream = _ScanningStream(response.stream, check_body)
        return response

    monkeypatch.setattr(transport, "handle_request", handle_request)


def _watch_settings(watch: LeakWatch, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings.__init__

    def recording_init(self: Settings, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        watch.settings.append(self)

    monkeypatch.setattr(Settings, "__init__", recording_init)


@contextmanager
def watching(monkeypatch: pytest.MonkeyPatch) -> Iterator[LeakWatch]:
    """Watch logs, TestClient responses and Settings for the duration of the block."""
    watch = LeakWatch()
    handler = _LogHandler(watch)
    _watch_settings(watch, monkeypatch)
    _watch_responses(watch, monkeypatch)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield watch
    finally:
        root.removeHandler(handler)
