"""Sending through an SMTP server (smtplib): plain, STARTTLS or implicit TLS, optional login.

The message is multipart/mixed: a multipart/alternative (text, then the HTML inside a
multipart/related that carries the inline chart as ``cid:``) and the CSV as an attachment.
The Message-ID is derived from the delivery's idempotency key, so a retry of the same delivery
carries the same id (receivers that de-duplicate on it can). TLS certificates are verified with
the system's trust store (``SSL_CERT_FILE`` points it elsewhere). Errors name the server, never
the password: 4xx replies and network failures are temporary, 5xx replies and refused logins
are permanent.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from costtracker.http import redact
from costtracker.notify import DeliveryError
from costtracker.notify.render_email import Email
from costtracker.settings import Settings


def build_message(email: Email, *, sender: str, recipient: str, key: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(key, sender)
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    html_part = message.get_body(("html",))
    assert html_part is not None
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if attachment.content_id:
            html_part.add_related(
                attachment.content,
                maintype,
                subtype,
                cid=f"<{attachment.content_id}>",
                filename=attachment.filename,
                disposition="inline",
            )
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if not attachment.content_id:
            params = {"charset": "utf-8"} if maintype == "text" else {}
            message.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
                params=params,
            )
    return message


def message_id(key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "costtracker.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


class SmtpTransport:
    channel = "smtp"

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("COSTTRACKER_SMTP_HOST is not set")
        self.settings = settings
        self.where = f"SMTP server {settings.smtp_host}:{settings.smtp_port}"
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        self._secrets = [password] if password else []

    def send(self, email: Email, *, recipient: str, key: str) -> str:
        """Send one message; return its Message-ID. Raises DeliveryError."""
        message = build_message(email, sender=self.settings.email_from, recipient=recipient, key=key)
        try:
            with self._connect() as client:
                self._login(client)
                refused = client.send_message(message)
        except smtplib.SMTPException as exc:
            raise self._smtp_error(exc) from None
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"{self.where}: TLS failed ({exc.reason or type(exc).__name__})", permanent=True
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise DeliveryError(f"{self.where} could not be reached ({reason})") from None
        if refused:
            raise DeliveryError(f"{self.where} refused {', '.join(refused)}", permanent=True)
        return str(message["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        settings, timeout = self.settings, self.settings.http_timeout_seconds
        host, port = settings.smtp_host or "", settings.smtp_port
        if settings.smtp_security == "ssl":
            return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        client = smtplib.SMTP(host, port, timeout=timeout)
        if settings.smtp_security == "starttls":
            try:
                client.starttls(context=ssl.create_default_context())
            except BaseException:
                client.close()
                raise
        return client

    def _login(self, client: smtplib.SMTP) -> None:
        username = self.settings.smtp_username
        if username:
            client.login(username, self._secrets[0] if self._secrets else "")

    def _smtp_error(self, exc: smtplib.SMTPException) -> DeliveryError:
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"{self.where} refused the login ({exc.smtp_code}); check "
                "COSTTRACKER_SMTP_USERNAME and COSTTRACKER_SMTP_PASSWORD",
                permanent=True,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(
                f"{self.where}: {self._text(str(exc))} (check COSTTRACKER_SMTP_SECURITY)", permanent=True
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = ", ".join(f"{who}: {code}" for who, (code, _) in exc.recipients.items())
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            return DeliveryError(f"{self.where} refused the recipient ({codes})", permanent=permanent)
        if isinstance(exc, smtplib.SMTPResponseException):
            detail = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            return DeliveryError(
                f"{self.where} answered {exc.smtp_code} {self._text(detail)}", permanent=exc.smtp_code >= 500
            )
        return DeliveryError(f"{self.where}: {self._text(str(exc)) or type(exc).__name__}")

    def _text(self, text: str) -> str:
        return redact(text, self._secrets)[:300]
