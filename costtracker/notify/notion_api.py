"""Our door to Notion: notion-client's ``Client`` on an httpx client that paces and writes exact JSON.

notion-client (ramnes/notion-sdk-py 3.x) speaks ``Notion-Version: 2025-09-03`` and retries 429
``rate_limited`` after ``Retry-After`` (and 5xx on GET). Under it, the httpx client waits so that
no more than ``COSTTRACKER_NOTION_REQUESTS_PER_SECOND`` requests leave (Notion documents an
average of 3 per second per integration), and writes request bodies with :mod:`costtracker.exactjson`
so an amount such as ``Decimal("45.50")`` goes out digit for digit, never through float. Errors
become our :class:`~costtracker.errors.SourceError` family, naming Notion and never the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from notion_client import Client
from notion_client.client import RetryOptions
from notion_client.errors import APIResponseError, HTTPResponseError, RequestTimeoutError

from costtracker import exactjson
from costtracker.errors import (
    AuthenticationFailed,
    BadResponse,
    ConfigError,
    RateLimited,
    SourceError,
    UpstreamUnavailable,
)
from costtracker.http import redact
from costtracker.notify import Pacer
from costtracker.settings import Settings

NOTION_VERSION = "2025-09-03"
# notion-client sets the level of the logger it is given: give it its own.
client_log = logging.getLogger("costtracker.notify.notion_client")


class _PacedExactClient(httpx.Client):
    def __init__(self, pacer: Pacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pacer = pacer

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        body = kwargs.pop("json", None)
        if body is not None:
            headers = httpx.Headers(kwargs.pop("headers", None))
            headers["Content-Type"] = "application/json"
            kwargs.update(content=exactjson.dumps(body).encode("utf-8"), headers=headers)
        return super().build_request(method, url, **kwargs)

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        self._pacer.wait()
        return super().send(request, **kwargs)


class NotionRefused(SourceError):
    """Notion refused a request (4xx other than auth and rate limit); ``notion_code`` is its code."""

    def __init__(self, what: str, notion_code: str, text: str, status: int) -> None:
        super().__init__("notion", f"{what}: {notion_code} ({text})", status=status, permanent=True)
        self.notion_code = notion_code


class NotionApi:
    """The few calls costtracker makes, each returning Notion's JSON or raising a SourceError."""

    def __init__(self, settings: Settings) -> None:
        if settings.notion_api_key is None or not settings.notion_api_key.get_secret_value():
            raise ConfigError(
                "NOTION_API_KEY", "is not set: create an integration at notion.so/my-integrations"
            )
        self._token = settings.notion_api_key.get_secret_value()
        http = _PacedExactClient(Pacer(settings.notion_requests_per_second), follow_redirects=False)
        self.client = Client(
            client=http,
            auth=self._token,
            base_url=settings.notion_base_url,
            notion_version=NOTION_VERSION,
            timeout_ms=int(settings.http_timeout_seconds * 1000),
            logger=client_log,
            log_level=logging.WARNING,
            retry=RetryOptions(
                max_retries=settings.http_max_retries,
                initial_retry_delay_ms=int(settings.http_backoff_seconds * 1000),
                max_retry_delay_ms=int(settings.http_max_retry_after_seconds * 1000),
            ),
        )

    def close(self) -> None:
        self.client.close()

    def call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run one client call; ``what`` names it in an error ("creating a page")."""
        try:
            answer = function(*args, **kwargs)
        except APIResponseError as exc:
            raise self._api_error(what, exc) from None
        except HTTPResponseError as exc:
            raise SourceError(
                "notion",
                f"{what}: {exc.status} {self._text(str(exc))}",
                status=exc.status,
                permanent=exc.status < 500,
            ) from None
        except RequestTimeoutError:
            raise UpstreamUnavailable("notion", f"{what}: timed out") from None
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                "notion", f"{what}: could not be reached ({type(exc).__name__})"
            ) from None
        if not isinstance(answer, dict):
            raise BadResponse("notion", f"{what}: the answer is not a JSON object")
        return answer

    def _api_error(self, what: str, exc: APIResponseError) -> SourceError:
        code, status, text = str(getattr(exc.code, "value", exc.code)), exc.status, self._text(str(exc))
        if code in ("unauthorized", "restricted_resource"):
            return AuthenticationFailed(
                "notion",
                f"{what}: the token was refused ({text}); check NOTION_API_KEY "
                "and that the databases are shared with the integration",
                status=status,
            )
        if code == "rate_limited":
            return RateLimited("notion", f"{what}: rate limited after every retry", status=status)
        if status >= 500:
            return UpstreamUnavailable("notion", f"{what}: server error {status} ({text})", status=status)
        return NotionRefused(what, code, text, status)

    def _text(self, text: str) -> str:
        return redact(text, [self._token])[:400]

    # --- the calls ------------------------------------------------------------------------
    def data_source_of(self, database_id: str) -> str:
        """The (first) data source of a database: under 2025-09-03, rows and schemas live there."""
        database = self.call("reading the database", self.client.databases.retrieve, database_id)
        sources = database.get("data_sources") or []
        if not sources:
            raise SourceError("notion", f"the database {database_id} has no data source", permanent=True)
        return str(sources[0]["id"])

    def data_source(self, source_id: str) -> dict[str, Any]:
        return self.call("reading a data source", self.client.data_sources.retrieve, source_id)

    def update_schema(self, source_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        return self.call(
            "changing a database's properties",
            self.client.data_sources.update,
            source_id,
            properties=properties,
        )

    def create_database(self, parent_page: str, title: str, properties: dict[str, Any]) -> dict[str, Any]:
        return self.call(
            f"creating the {title} database",
            self.client.databases.create,
            parent={"type": "page_id", "page_id": parent_page},
            title=[{"type": "text", "text": {"content": title}}],
            initial_data_source={"properties": properties},
        )

    def find(self, source_id: str, prop: str, kind: str, value: str) -> str | None:
        """The id of the first page whose ``prop`` (title or rich_text) equals ``value``."""
        found = self.call(
            "looking a page up",
            self.client.data_sources.query,
            source_id,
            filter={"property": prop, kind: {"equals": value}},
            page_size=1,
        )
        results = found.get("results") or []
        return str(results[0]["id"]) if results else None

    def create_page(self, source_id: str, properties: dict[str, Any]) -> str:
        page = self.call(
            "creating a page",
            self.client.pages.create,
            parent={"type": "data_source_id", "data_source_id": source_id},
            properties=properties,
        )
        return str(page["id"])

    def update_page(self, page_id: str, properties: dict[str, Any]) -> None:
        self.call("updating a page", self.client.pages.update, page_id, properties=properties)
