"""Configuration, read once from the environment, an optional ``.env`` and ``costtracker.toml``.

Why one class: every setting is declared here with the environment names it answers to, so
``docs/configuration.md`` and ``.env.example`` can be checked against it by a test, and the
CLI's ``check`` can name the exact variable that is wrong. Secrets are ``SecretStr`` (they print
as ``**********``) and each may also come from a file named by ``<NAME>_FILE``.

Settings are never built at import time: call :func:`get_settings` (cached) or build
``Settings()`` in tests.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import AfterValidator, AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from costtracker.errors import ConfigError


def normalise_base_url(value: str) -> str:
    """Keep ``scheme://host[:port]`` (plus any proxy prefix) and drop a trailing ``/v1`` given by habit.

    Sources append the documented path (``/v1/organization/costs``), so the configured value is an
    origin. Users often paste the SDK's base URL (``https://api.openai.com/v1``); we accept it.
    """
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"must be an http(s) URL with a host, like https://api.example.com (got {value!r})")
    path = parts.path.rstrip("/")
    for habit in ("/api/v1", "/v1"):
        if path.endswith(habit):
            path = path[: -len(habit)]
            break
    return f"{parts.scheme}://{parts.netloc}{path}"


BaseUrl = Annotated[str, AfterValidator(normalise_base_url)]

DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


def env(*names: str) -> Any:
    """Field alias helper: the environment variable names a setting answers to, first is canonical."""
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything costtracker can be told. Documented one by one in docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    # --- core -------------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), validation_alias=env("COSTTRACKER_DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=env("COSTTRACKER_DATABASE_URL"))
    reporting_currency: str = Field("USD", validation_alias=env("COSTTRACKER_REPORTING_CURRENCY"))
    public_url: str = Field(
        "http://127.0.0.1:8000", validation_alias=env("COSTTRACKER_PUBLIC_URL", "NEXT_PUBLIC_APP_URL")
    )
    log_level: str = Field("INFO", validation_alias=env("COSTTRACKER_LOG_LEVEL"))
    secret_key: SecretStr | None = Field(None, validation_alias=env("COSTTRACKER_SECRET_KEY"))
    demo: bool = Field(False, validation_alias=env("COSTTRACKER_DEMO"))
    timezone: str = Field("UTC", validation_alias=env("COSTTRACKER_TIMEZONE"))

    # --- outbound HTTP ----------------------------------------------------------------------
    http_timeout_seconds: float = Field(30.0, gt=0, validation_alias=env("COSTTRACKER_HTTP_TIMEOUT_SECONDS"))
    http_max_retries: int = Field(4, ge=0, le=10, validation_alias=env("COSTTRACKER_HTTP_MAX_RETRIES"))
    http_backoff_seconds: float = Field(0.5, ge=0, validation_alias=env("COSTTRACKER_HTTP_BACKOFF_SECONDS"))
    http_max_retry_after_seconds: float = Field(
        60.0, ge=0, validation_alias=env("COSTTRACKER_HTTP_MAX_RETRY_AFTER_SECONDS")
    )

    # --- provider origins (tests, proxies, EU endpoints) -----------------------------------
    openai_base_url: BaseUrl = Field(
        "https://api.openai.com", validation_alias=env("COSTTRACKER_OPENAI_BASE_URL")
    )
    anthropic_base_url: BaseUrl = Field(
        "https://api.anthropic.com", validation_alias=env("COSTTRACKER_ANTHROPIC_BASE_URL")
    )
    openrouter_base_url: BaseUrl = Field(
        "https://openrouter.ai", validation_alias=env("COSTTRACKER_OPENROUTER_BASE_URL")
    )
    elevenlabs_base_url: BaseUrl = Field(
        "https://api.elevenlabs.io", validation_alias=env("COSTTRACKER_ELEVENLABS_BASE_URL")
    )
    deepgram_base_url: BaseUrl = Field(
        "https://api.deepgram.com", validation_alias=env("COSTTRACKER_DEEPGRAM_BASE_URL")
    )
    mistral_base_url: BaseUrl = Field(
        "https://api.mistral.ai", validation_alias=env("COSTTRACKER_MISTRAL_BASE_URL")
    )
    digitalocean_base_url: BaseUrl = Field(
        "https://api.digitalocean.com", validation_alias=env("COSTTRACKER_DIGITALOCEAN_BASE_URL")
    )
    stripe_base_url: BaseUrl = Field(
        "https://api.stripe.com", validation_alias=env("COSTTRACKER_STRIPE_BASE_URL")
    )
    twilio_base_url: BaseUrl = Field(
        "https://api.twilio.com", validation_alias=env("COSTTRACKER_TWILIO_BASE_URL")
    )
    supabase_base_url: BaseUrl = Field(
        "https://api.supabase.com", validation_alias=env("COSTTRACKER_SUPABASE_BASE_URL")
    )
    notion_base_url: BaseUrl = Field(
        "https://api.notion.com", validation_alias=env("COSTTRACKER_NOTION_BASE_URL")
    )
    resend_base_url: BaseUrl = Field(
        "https://api.resend.com", validation_alias=env("COSTTRACKER_RESEND_BASE_URL")
    )

    # --- provider keys ----------------------------------------------------------------------
    # OpenAI workspaces come from OPENAI_ADMIN_KEY_<NAME> / OPENAI_API_KEY_<NAME> (see openai_workspaces()).
    openai_admin_key: SecretStr | None = Field(None, validation_alias=env("OPENAI_ADMIN_KEY"))
    anthropic_admin_key: SecretStr | None = Field(None, validation_alias=env("ANTHROPIC_ADMIN_KEY"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=env("ANTHROPIC_API_KEY"))
    openrouter_api_key: SecretStr | None = Field(None, validation_alias=env("OPENROUTER_API_KEY"))
    openrouter_management_key: SecretStr | None = Field(
        None, validation_alias=env("OPENROUTER_MANAGEMENT_KEY")
    )
    elevenlabs_api_key: SecretStr | None = Field(None, validation_alias=env("ELEVENLABS_API_KEY"))
    deepgram_api_key: SecretStr | None = Field(None, validation_alias=env("DEEPGRAM_API_KEY"))
    mistral_api_key: SecretStr | None = Field(None, validation_alias=env("MISTRAL_API_KEY"))
    mistral_admin_key: SecretStr | None = Field(None, validation_alias=env("MISTRAL_ADMIN_KEY"))
    mistral_admin_usage_path: str = Field(
        "/v1/admin/usage", validation_alias=env("COSTTRACKER_MISTRAL_ADMIN_USAGE_PATH")
    )

    # --- delivery: Notion, email ------------------------------------------------------------
    notion_api_key: SecretStr | None = Field(None, validation_alias=env("NOTION_API_KEY"))
    notion_services_db_id: str | None = Field(None, validation_alias=env("NOTION_SERVICES_DB_ID"))
    notion_usages_db_id: str | None = Field(None, validation_alias=env("NOTION_USAGES_DB_ID"))
    resend_api_key: SecretStr | None = Field(None, validation_alias=env("RESEND_API_KEY"))
    report_email_to: str | None = Field(None, validation_alias=env("REPORT_EMAIL_TO"))
    email_from: str = Field(
        "costtracker <costtracker@localhost>", validation_alias=env("COSTTRACKER_EMAIL_FROM")
    )
    smtp_host: str | None = Field(None, validation_alias=env("COSTTRACKER_SMTP_HOST"))
    smtp_port: int = Field(25, ge=1, le=65535, validation_alias=env("COSTTRACKER_SMTP_PORT"))
    smtp_username: str | None = Field(None, validation_alias=env("COSTTRACKER_SMTP_USERNAME"))
    smtp_password: SecretStr | None = Field(None, validation_alias=env("COSTTRACKER_SMTP_PASSWORD"))
    smtp_security: str = Field("none", validation_alias=env("COSTTRACKER_SMTP_SECURITY"))
    notion_properties: str = Field("", validation_alias=env("COSTTRACKER_NOTION_PROPERTIES"))
    notion_requests_per_second: float = Field(
        3.0, gt=0, le=100, validation_alias=env("COSTTRACKER_NOTION_REQUESTS_PER_SECOND")
    )

    # --- access ------------------------------------------------------------------------------
    collect_secret_token: SecretStr | None = Field(None, validation_alias=env("COLLECT_SECRET_TOKEN"))
    report_secret_token: SecretStr | None = Field(None, validation_alias=env("REPORT_SECRET_TOKEN"))
    admin_email: str | None = Field(None, validation_alias=env("COSTTRACKER_ADMIN_EMAIL"))
    admin_password: SecretStr | None = Field(None, validation_alias=env("COSTTRACKER_ADMIN_PASSWORD"))
    login_max_attempts: int = Field(10, ge=1, le=1000, validation_alias=env("COSTTRACKER_LOGIN_MAX_ATTEMPTS"))
    login_window_seconds: int = Field(
        900, ge=1, le=86_400, validation_alias=env("COSTTRACKER_LOGIN_WINDOW_SECONDS")
    )
    session_max_age_hours: int = Field(
        168, ge=1, le=8760, validation_alias=env("COSTTRACKER_SESSION_MAX_AGE_HOURS")
    )
    report_link_days: int = Field(30, ge=1, le=366, validation_alias=env("COSTTRACKER_REPORT_LINK_DAYS"))
    cache_seconds: int = Field(300, ge=0, le=86_400, validation_alias=env("COSTTRACKER_CACHE_SECONDS"))

    # --- schedules ---------------------------------------------------------------------------
    schedule_collect_cron: str = Field(
        "15 2 * * *", validation_alias=env("COSTTRACKER_SCHEDULE_COLLECT_CRON")
    )
    schedule_close_cron: str = Field("30 6 2 * *", validation_alias=env("COSTTRACKER_SCHEDULE_CLOSE_CRON"))
    scheduler_enabled: bool = Field(True, validation_alias=env("COSTTRACKER_SCHEDULER_ENABLED"))

    # Filled from OPENAI_ADMIN_KEY_<NAME> / OPENAI_API_KEY_<NAME>; not an environment variable itself.
    openai_workspace_keys: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split(":", 1)[0].split("+", 1)[0].lower()
        if "://" not in value or scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"must be a sqlite:///path or postgresql://user@host/db URL (unknown scheme {scheme!r})"
            )
        return value

    @field_validator("smtp_security")
    @classmethod
    def _known_security(cls, value: str) -> str:
        if value.lower() not in {"none", "starttls", "ssl"}:
            raise ValueError("must be one of none, starttls, ssl")
        return value.lower()

    @field_validator("notion_properties")
    @classmethod
    def _json_object_of_names(cls, value: str) -> str:
        """A JSON object of property names; which keys are known is checked by notify.notion_schema."""
        if not value.strip():
            return ""
        try:
            names = json.loads(value)
        except ValueError:
            raise ValueError('must be a JSON object such as {"usages.cost": "Cost USD"}') from None
        if not isinstance(names, dict) or not all(isinstance(v, str) and v.strip() for v in names.values()):
            raise ValueError('must be a JSON object of non-empty names, such as {"usages.cost": "Cost USD"}')
        return value

    @field_validator("reporting_currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError("must be a three-letter ISO 4217 code such as USD")
        return value.upper()

    @property
    def effective_database_url(self) -> str:
        """The database to use: the configured URL, or an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'costtracker.db').as_posix()}"

    def openai_workspaces(self) -> dict[str, SecretStr]:
        """Workspace display name -> admin key; the single OPENAI_ADMIN_KEY is workspace 'default'."""
        workspaces = dict(self.openai_workspace_keys)
        if self.openai_admin_key is not None and "default" not in workspaces:
            workspaces["default"] = self.openai_admin_key
        return workspaces

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("COSTTRACKER_CONFIG", "costtracker.toml"))
        return (
            init_settings,
            SecretFileSource(settings_cls),
            env_settings,
            dotenv_settings,
            WorkspaceKeysSource(settings_cls),
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )


def env_names(field: FieldInfo) -> list[str]:
    """The environment variable names a field answers to (canonical first)."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [str(alias)] if alias else []


def _is_secret(field: FieldInfo) -> bool:
    return "SecretStr" in str(field.annotation)


class SecretFileSource(PydanticBaseSettingsSource):
    """``<NAME>_FILE=/run/secrets/x`` sets secret ``<NAME>`` from that file (Docker/systemd credentials)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for name in env_names(field):
            path = os.environ.get(f"{name}_FILE")
            if path and _is_secret(field):
                try:
                    return Path(path).read_text(encoding="utf-8").strip(), field_name, False
                except OSError as exc:
                    raise ConfigError(
                        f"{name}_FILE", f"cannot read the file {path!r} ({exc.strerror})"
                    ) from None
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[key] = value
        return values


WORKSPACE_KEY = re.compile(r"^OPENAI_(?:ADMIN|API)_KEY_(?P<name>[A-Z0-9_]+?)(?P<file>_FILE)?$", re.IGNORECASE)


def workspace_display_name(raw: str) -> str:
    """``EDUGAMI`` -> ``Edugami``; ``MY_LAB`` -> ``My Lab``."""
    return " ".join(part.capitalize() for part in raw.split("_") if part)


class WorkspaceKeysSource(PydanticBaseSettingsSource):
    """Collects ``OPENAI_ADMIN_KEY_<NAME>`` (and the seed's ``OPENAI_API_KEY_<NAME>``) into a dict.

    The admin form wins when both name the same workspace. Names come from the environment
    and from the ``.env`` file, since that is where the seed tool kept them.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        raw: dict[str, str] = {}
        env_file = self.settings_cls.model_config.get("env_file")
        if isinstance(env_file, str) and Path(env_file).is_file():
            raw.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        raw.update(os.environ)
        found: dict[str, tuple[int, str]] = {}
        for name, value in sorted(raw.items()):
            match = WORKSPACE_KEY.match(name)
            if not match:
                continue
            if match.group("file"):
                try:
                    value = Path(value).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError(name, f"cannot read the file {value!r} ({exc.strerror})") from None
            rank = 0 if "_ADMIN_" in name.upper() else 1
            workspace = workspace_display_name(match.group("name"))
            if workspace not in found or rank < found[workspace][0]:
                found[workspace] = (rank, value)
        return {"openai_workspace_keys": {w: v for w, (_, v) in found.items()}} if found else {}


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into a ConfigError naming each variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field_name = str(error["loc"][0]) if error["loc"] else "?"
            field = Settings.model_fields.get(field_name)
            names = env_names(field) if field else []
            setting = names[0] if names else field_name
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{setting}: {message}")
        raise ConfigError.many(problems) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import)."""
    return load_settings()
