"""What every emulator shares: fault injection, counting, query parsing, paging, determinism.

An emulator is a small Starlette app that serves a provider's documented paths over a
deterministic data set whose totals it can state exactly (``dataset.total(...)``). Tests mount
it in-process with ``httpx.ASGITransport``; ``costtracker emulate`` and the demo serve it on
loopback. The :class:`Faults` middleware adds latency, 429s with ``Retry-After``, 500s and
malformed bodies on demand, and :class:`Stats` records what a client did (requests, peak
concurrency, peak rate) so tests and benchmarks can check we stay within a provider's limits.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class EmulatorConfig:
    """Knobs shared by every emulator. Defaults give a well-behaved provider."""

    seed: int = 42
    latency_ms: int = 0
    page_size: int | None = None  # force small pages; None = the provider's documented default
    fail_first: int = 0  # the first N requests answer 500
    fail_every: int = 0  # every Nth request answers 500
    throttle_first: int = 0  # the first N requests answer 429
    throttle_every: int = 0  # every Nth request answers 429
    retry_after: int = 1  # seconds, sent with every 429
    malformed: bool = False  # bodies are cut in half (not JSON)
    always_status: int | None = None  # every request answers this status
    rate_limit_per_second: float | None = None  # above this, answer 429 and count a violation
    revoked_keys: set[str] = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)  # provider-specific knobs


CONTROL_PREFIX = "/_emulator"
CURSOR_PARAMS = {"page", "offset", "start_cursor", "cursor", "after", "starting_after"}
CALLER_HEADERS = (b"authorization", b"x-api-key", b"xi-api-key")


@dataclass
class Stats:
    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0
    peak_per_second: int = 0
    rate_violations: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    # requests per "chain": same caller, path and query but for the page cursor. The pages of one
    # chain must be fetched one after the other, so the longest chain bounds how fast a client can be.
    chains: dict[str, int] = field(default_factory=dict)
    _recent: deque[float] = field(default_factory=deque)

    def chain(self, scope: Scope) -> None:
        headers = dict(scope.get("headers") or [])
        caller = hashlib.sha256(b"".join(headers.get(h, b"") for h in CALLER_HEADERS)).hexdigest()[:12]
        query = sorted(
            pair
            for pair in parse_qsl(scope.get("query_string", b"").decode())
            if pair[0] not in CURSOR_PARAMS
        )
        key = f"{caller} {scope['path']} {query}"
        self.chains[key] = self.chains.get(key, 0) + 1

    @property
    def longest_chain(self) -> int:
        return max(self.chains.values(), default=0)

    def start(self, path: str) -> int:
        self.requests += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        now = time.monotonic()
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        self.peak_per_second = max(self.peak_per_second, len(self._recent))
        return len(self._recent)


class Faults:
    """ASGI middleware: counts requests and injects the configured latency and failures."""

    def __init__(
        self,
        app: ASGIApp,
        config: EmulatorConfig,
        stats: Stats,
        error_body: Callable[[int, str], dict[str, Any]],
    ) -> None:
        self.app = app
        self.config = config
        self.stats = stats
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
            return
        stats, config = self.stats, self.config
        current_rate = stats.start(scope["path"])
        stats.chain(scope)
        number = stats.requests
        try:
            if config.latency_ms:
                await asyncio.sleep(config.latency_ms / 1000)
            fault = self._fault(number, current_rate)
            if fault is not None:
                status, message = fault
                headers = {"Retry-After": str(config.retry_after)} if status == 429 else {}
                response: Response = JSONResponse(self.error_body(status, message), status, headers=headers)
                stats.statuses[status] = stats.statuses.get(status, 0) + 1
                await response(scope, receive, send)
                return
            await self.app(scope, receive, self._maybe_malformed(send))
        finally:
            stats.in_flight -= 1

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /_emulator/stats`` reports what clients did; ``POST /_emulator/reset`` starts afresh.

        For benchmarks and tests that run the emulator in another process. Not counted as traffic.
        """
        if scope["path"] == f"{CONTROL_PREFIX}/reset" and scope["method"] == "POST":
            self.stats = Stats()
        body = {
            "requests": self.stats.requests,
            "peak_in_flight": self.stats.peak_in_flight,
            "peak_per_second": self.stats.peak_per_second,
            "rate_violations": self.stats.rate_violations,
            "longest_chain": self.stats.longest_chain,
            "statuses": self.stats.statuses,
            "by_path": self.stats.by_path,
        }
        await JSONResponse(body)(scope, receive, send)

    def _fault(self, number: int, current_rate: int) -> tuple[int, str] | None:
        config = self.config
        if config.always_status:
            return config.always_status, "injected failure"
        if config.rate_limit_per_second and current_rate > config.rate_limit_per_second:
            self.stats.rate_violations += 1
            return 429, "rate limit exceeded"
        if number <= config.throttle_first or (config.throttle_every and number % config.throttle_every == 0):
            return 429, "rate limit exceeded, slow down"
        if number <= config.fail_first or (config.fail_every and number % config.fail_every == 0):
            return 500, "internal server error"
        return None

    def _maybe_malformed(self, send: Send) -> Send:
        if not self.config.malformed:
            return send

        async def cut(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]
            if message["type"] == "http.response.body" and message.get("body"):
                body = message["body"]
                message = {**message, "body": body[: max(1, len(body) // 2)]}
            await send(message)

        return cut  # type: ignore[return-value]


def query_list(request: Request, name: str) -> list[str]:
    """Values of an array parameter sent as ``k=a&k=b`` or ``k[]=a&k[]=b`` (both are in use)."""
    values = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    out: list[str] = []
    for value in values:
        out.extend(part for part in value.split(",") if part) if "," in value else out.append(value)
    return out


def encode_page(position: int) -> str:
    """An opaque cursor (``page_`` + base64), as providers hand out."""
    return "page_" + base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode().rstrip("=")


def decode_page(token: str | None) -> int | None:
    """The position in a cursor made by :func:`encode_page`; None when it is not one."""
    if not token or not token.startswith("page_"):
        return None
    raw = token[len("page_") :]
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return int(data["p"])
    except (ValueError, KeyError, TypeError):
        return None


def rng(seed: int, *parts: object) -> random.Random:
    """A random generator fixed by the seed and a key (provider, workspace, day...)."""
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def money(generator: random.Random, low: int, high: int, places: int = 6) -> Decimal:
    """A decimal amount in [low, high) with ``places`` decimals, built from integers (no float)."""
    scale = 10**places
    return Decimal(generator.randrange(low * scale, high * scale)).scaleb(-places)


def bearer(request: Request, header: str = "authorization", scheme: str = "Bearer") -> str | None:
    """The key sent in ``Authorization: <scheme> <key>`` (or a raw header such as ``x-api-key``)."""
    value = request.headers.get(header)
    if value is None:
        return None
    if header.lower() == "authorization":
        prefix = f"{scheme} "
        return value[len(prefix) :] if value.startswith(prefix) else None
    return value


class Emulator(Faults):
    """A provider's app wrapped in :class:`Faults`, with its data set (``.dataset``) at hand."""

    def __init__(
        self,
        app: ASGIApp,
        config: EmulatorConfig,
        error_body: Callable[[int, str], dict[str, Any]],
        dataset: Any,
    ) -> None:
        super().__init__(app, config, Stats(), error_body)
        self.dataset = dataset
