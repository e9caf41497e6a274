"""The only door to the outside: every call to a provider's API goes through :class:`Http`.

It gives each provider one place for timeouts, retries (exponential backoff with jitter that
honours ``Retry-After``, via tenacity), a concurrency cap and a request rate (aiolimiter), and
maps every failure to a :class:`~costtracker.errors.SourceError` whose message names the
provider and workspace and never the key. Sources receive an ``Http``; they never build a
client, so tests hand in an emulator through ``transport=httpx.ASGITransport(app)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from costtracker import __version__
from costtracker.clock import utcnow
from costtracker.errors import (
    AuthenticationFailed,
    BadResponse,
    RateLimited,
    SourceError,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)

USER_AGENT = f"costtracker/{__version__} (+https://github.com/costtracker/costtracker)"
_TOKENISH = re.compile(r"\b(sk|pk|rk|xi|ntn|re|dg|or)[-_][A-Za-z0-9_\-]{6,}")


@dataclass(frozen=True)
class RateLimit:
    """How hard we may hit one provider: at most ``concurrency`` requests at once and
    ``per_second`` per second, summed over every workspace of that provider."""

    concurrency: int = 4
    per_second: float = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_retry_after_seconds: float = 60.0
    timeout_seconds: float = 30.0


class _Retryable(Exception):
    """Internal: a failure worth another attempt (429, 5xx, network)."""

    def __init__(self, error: SourceError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def redact(text: str, secrets: list[str]) -> str:
    """Remove every secret (and anything that looks like a provider key) from a text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _TOKENISH.sub("[redacted]", text)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def error_message(response: httpx.Response) -> str:
    """The provider's own explanation, from the usual error body shapes, kept short."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    candidates: list[Any] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            candidates += [error.get("message"), error.get("type")]
        candidates += [error, body.get("message"), body.get("err_msg"), body.get("detail")]
    for candidate in candidates:
        if isinstance(candidate, dict):
            candidate = candidate.get("message") or candidate.get("status")
        if isinstance(candidate, list) and candidate and isinstance(candidate[0], dict):
            candidate = candidate[0].get("msg")
        if isinstance(candidate, str) and candidate:
            return candidate[:300]
    return response.reason_phrase


class Http:
    """Outbound HTTP for one provider, shared by all its workspaces."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        limits: RateLimit | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.limits = limits or RateLimit()
        self.policy = policy or RetryPolicy()
        self.requests_made = 0
        self.requests_by_account: dict[str | None, int] = {}
        self._semaphore = asyncio.Semaphore(self.limits.concurrency)
        # One request every 1/rate seconds, no burst: a full bucket of N would let 2N through in
        # some one-second window, which is over the provider's limit.
        self._limiter = AsyncLimiter(1, 1.0 / max(self.limits.per_second, 0.001))
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(self.policy.timeout_seconds),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        account: str | None = None,
    ) -> Any:
        """GET ``path`` and decode its JSON body, retrying what is worth retrying."""
        response = await self.request("GET", path, params=params, headers=headers, account=account)
        return self.decode(response, account=account)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        account: str | None = None,
    ) -> httpx.Response:
        """Send a request with retries; return the successful response or raise a SourceError."""
        secrets = [value for value in (headers or {}).values()] + [
            value.split(" ", 1)[-1] for value in (headers or {}).values()
        ]
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_retries + 1),
            retry=retry_if_exception_type(_Retryable),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send_once(method, path, params, json_body, headers, account, secrets)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def decode(self, response: httpx.Response, *, account: str | None = None) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            raise BadResponse(
                self.provider,
                f"answered {response.request.url.path} with a body that is not JSON",
                account=account,
                status=response.status_code,
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.max_retry_after_seconds)
        base = self.policy.backoff_seconds * (2 ** (state.attempt_number - 1))
        return float(base * (0.5 + random.random() / 2))

    async def _send_once(
        self,
        method: str,
        path: str,
        params: Any,
        json_body: Any,
        headers: Mapping[str, str] | None,
        account: str | None,
        secrets: list[str],
    ) -> httpx.Response:
        async with self._semaphore:
            await self._limiter.acquire()
            self.requests_made += 1
            self.requests_by_account[account] = self.requests_by_account.get(account, 0) + 1
            try:
                response = await self._client.request(
                    method, path, params=params, json=json_body, headers=dict(headers or {})
                )
            except httpx.TimeoutException:
                raise _Retryable(
                    UpstreamUnavailable(self.provider, f"timed out on {path}", account=account)
                ) from None
            except httpx.TransportError as exc:
                reason = redact(type(exc).__name__, secrets)
                raise _Retryable(
                    UpstreamUnavailable(
                        self.provider, f"could not be reached ({reason}) on {path}", account=account
                    )
                ) from None
        self._raise_for_status(response, path, account, secrets)
        return response

    def _raise_for_status(
        self, response: httpx.Response, path: str, account: str | None, secrets: list[str]
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = redact(error_message(response), secrets)
        if status in (401, 403):
            raise AuthenticationFailed(
                self.provider,
                f"the key was refused ({status}: {detail}); check or replace it",
                account=account,
                status=status,
            )
        if status == 429:
            raise _Retryable(
                RateLimited(
                    self.provider, f"rate limited on {path} ({detail})", account=account, status=status
                ),
                parse_retry_after(response.headers.get("retry-after")),
            )
        if status >= 500:
            raise _Retryable(
                UpstreamUnavailable(
                    self.provider,
                    f"server error {status} on {path} ({detail})",
                    account=account,
                    status=status,
                ),
                parse_retry_after(response.headers.get("retry-after")),
            )
        raise SourceError(
            self.provider,
            f"refused {path} ({status}: {detail})",
            account=account,
            status=status,
            permanent=True,
        )
