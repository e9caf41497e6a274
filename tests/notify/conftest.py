"""Real servers on loopback for the delivery tests: the Notion and Resend emulators, an SMTP server.

The delivery code is blocking (smtplib, the sync Notion client), so the emulators are served by
Uvicorn from a background thread and the SMTP server is aiosmtpd's threaded Controller.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.serve import Served, serve_emulators


@contextmanager
def on_loopback(key: str, config: EmulatorConfig | None = None) -> Iterator[Served]:
    """Serve one emulator (``notion``, ``resend``) from a thread until the block ends."""
    ready, served, loop = threading.Event(), [], asyncio.new_event_loop()
    stop: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with serve_emulators([key], config=config) as items:
            served.extend(items)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError(f"the {key} emulator did not start")
    try:
        yield served[0]
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


@pytest.fixture
def emulator() -> Iterator[Callable[..., Served]]:
    """``emulator("notion", EmulatorConfig(...))`` -> a served emulator, stopped after the test."""
    stack: list[Any] = []

    def start(key: str, config: EmulatorConfig | None = None) -> Served:
        context = on_loopback(key, config)
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, (_, rcpt) in zip(self.messages, self.envelopes, strict=True) if address in rcpt]


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox
    cert: Path | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command (Debian package ``openssl``)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _authenticator(username: str, password: str) -> Callable[..., AuthResult]:
    def check(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == username.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    return check


@pytest.fixture
def smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SmtpServer]]:
    """``smtp_server(security="starttls", login=("user", "pw"))`` -> a running aiosmtpd on loopback.

    With TLS, a self-signed certificate is made and trusted through ``SSL_CERT_FILE``.
    """
    controllers: list[Controller] = []

    def start(security: str = "none", login: tuple[str, str] | None = None) -> SmtpServer:
        inbox, cert = Inbox(), None
        kwargs: dict[str, Any] = {}
        if security != "none":
            cert, key = self_signed(tmp_path)
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            kwargs = (
                {"ssl_context": context}
                if security == "ssl"
                else {"tls_context": context, "require_starttls": True}
            )
        if login:  # AUTH is checked when given; required (after STARTTLS) on the STARTTLS server
            starttls = security == "starttls"
            kwargs.update(
                authenticator=_authenticator(*login), auth_required=starttls, auth_require_tls=starttls
            )
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", controller.port, inbox, cert)

    yield start
    for controller in controllers:
        controller.stop()
