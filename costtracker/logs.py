"""Logging set-up with a last line of defence: known secrets are masked in every record.

Sources never log keys by design; this filter makes sure a mistake elsewhere (a library that
logs headers, an exception that repeats a URL) cannot leak one either.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from costtracker.http import redact
from costtracker.settings import Settings


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, in clear (for masking only)."""
    values = [v.get_secret_value() for v in settings.__dict__.values() if isinstance(v, SecretStr)]
    values += [v.get_secret_value() for v in settings.openai_workspace_keys.values()]
    return [v for v in values if v]


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
