"""The secret key, and signed report links that expire.

The key comes from ``COSTTRACKER_SECRET_KEY``. Without one, a random key is generated once and
kept in ``<data dir>/secret_key`` (with a warning outside the demo) so a self-hosted install
is never blocked; processes that do not share that directory (a worker in another container)
must then be given the key, or their links will not verify.

A report link is ``/report/YYYY-MM?expires=<unix time>&sig=<hex>``, where ``sig`` is an
HMAC-SHA256 of the month and the expiry under a key derived for this one purpose. Hex is
compared as text, so no character of the link can change without refusing it (base64
signatures have spare bits that can be flipped without changing the decoded bytes).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from costtracker.clock import utcnow
from costtracker.errors import ConfigError
from costtracker.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE = "secret_key"
MIN_KEY_LENGTH = 16
PLACEHOLDERS = {"change-me", "changeme", "secret", "please-change-me", "xxx"}
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])", re.ASCII)


def configured_key(settings: Settings) -> str | None:
    """COSTTRACKER_SECRET_KEY when set; a placeholder or short key is refused outside the demo."""
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        return None
    key = settings.secret_key.get_secret_value()
    if not settings.demo and (len(key) < MIN_KEY_LENGTH or key.lower() in PLACEHOLDERS):
        raise ConfigError(
            "COSTTRACKER_SECRET_KEY",
            f"is a placeholder or shorter than {MIN_KEY_LENGTH} characters; generate one with "
            "python -c 'import secrets; print(secrets.token_hex(32))'",
        )
    return key


def resolve_secret_key(settings: Settings) -> str:
    """The configured key, else the one kept in the data directory (created on first use)."""
    return configured_key(settings) or _stored_key(settings.data_dir, warn=not settings.demo)


def _stored_key(data_dir: Path, *, warn: bool) -> str:
    path = data_dir / KEY_FILE
    if warn:
        log.warning(
            "COSTTRACKER_SECRET_KEY is not set: using the key kept in %s. Set COSTTRACKER_SECRET_KEY "
            "when several processes or hosts must verify the same report links.",
            path,
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    try:  # created exclusively (mode 0600): two processes starting together agree on one key
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
        if not key:
            raise ConfigError(
                "COSTTRACKER_SECRET_KEY", f"{path} is empty; delete it or set the key"
            ) from None
        return key
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key + "\n")
    return key


def _purpose_key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()


def _signature(secret_key: str, month: str, expires: int) -> str:
    message = f"{month}\n{expires}".encode()
    return hmac.new(_purpose_key(secret_key, "report-link"), message, hashlib.sha256).hexdigest()


def sign_report_link(
    secret_key: str, month: str, expires_in: timedelta, *, now: datetime | None = None
) -> str:
    """A path with query that opens the report of ``month`` (and its exports) until it expires."""
    if not MONTH.fullmatch(month):
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    expires = int(((now or utcnow()) + expires_in).timestamp())
    query = urlencode({"expires": expires, "sig": _signature(secret_key, month, expires)})
    return f"/report/{month}?{query}"


def check_report_link(secret_key: str, month: str, expires: str, sig: str, *, now: datetime) -> str | None:
    """None when the link is good, else why it is refused (``invalid`` or ``expired``)."""
    if not MONTH.fullmatch(month) or not re.fullmatch(r"[0-9]{1,12}", expires):
        return "invalid"
    expected = _signature(secret_key, month, int(expires))
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        return "invalid"
    if int(expires) <= now.timestamp():
        return "expired"
    return None
