"""A stand-in for Anthropic's Admin API: workspaces, API keys, the cost report, the usage report.

Served as documented: ``x-api-key`` (an Admin key, ``sk-ant-admin…``) and ``anthropic-version``
headers, RFC 3339 ``starting_at``/``ending_at`` snapped to UTC days, ``group_by[]`` (or
``group_by``), ``limit`` counting daily buckets and an opaque ``next_page`` cursor, the cost in
cents as decimal strings, errors as ``{"type": "error", "error": {...}, "request_id"}``.

The organisation: three workspaces (one archived mid-2025, listed only with
``include_archived``) plus the default workspace (``workspace_id: null``), six API keys, and
usage from the Console (``api_key_id: null``). One key runs on Priority Tier, whose cost the
cost report leaves out, as Anthropic's does. One model, ``claude-nebula-5-20270101``, is
unknown to genai-prices. Every day's usage and cost derive from ``rng(seed, day, ...)``.
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from costtracker.clock import today
from costtracker.emulators.base import (
    Emulator,
    EmulatorConfig,
    decode_page,
    encode_page,
    money,
    query_list,
    rng,
)

DEMO_ENV: dict[str, str] = {"ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-costtracker-demo-0000000000000000"}

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
COST_GROUPS = ("workspace_id", "description")
USAGE_GROUPS = (
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "account_id",
    "service_account_id",
    "speed",
)
DESCRIBED = ("description", "cost_type", "model", "token_type", "service_tier", "context_window")
USAGE_FILTERS = {
    "models": "model",
    "workspace_ids": "workspace_id",
    "api_key_ids": "api_key_id",
    "service_tiers": "service_tier",
    "context_window": "context_window",
}
# token_type -> the end of the line's description, as seen in real reports (Oct 2025). The 1h
# cache write wording is not known: it shares the 5m one, so only token_type tells them apart.
TOKEN_TYPES = {
    "uncached_input_tokens": "Input Tokens",
    "output_tokens": "Output Tokens",
    "cache_read_input_tokens": "Input Tokens, Cache Hit",
    "cache_creation.ephemeral_5m_input_tokens": "Input Tokens, Cache Write",
    "cache_creation.ephemeral_1h_input_tokens": "Input Tokens, Cache Write",
}
SONNET, HAIKU, OPUS, NEBULA = (
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-1-20250805",
    "claude-nebula-5-20270101",
)
# What the emulated Anthropic bills, USD per million tokens in TOKEN_TYPES order.
RATES: dict[str, tuple[str, tuple[str, ...]]] = {
    SONNET: ("Claude Sonnet 4.5", ("3", "15", "0.3", "3.75", "6")),
    HAIKU: ("Claude Haiku 4.5", ("1", "5", "0.1", "1.25", "2")),
    OPUS: ("Claude Opus 4.1", ("15", "75", "1.5", "18.75", "30")),
    NEBULA: ("Claude Nebula 5", ("4", "20", "0.4", "5", "8")),
}
LONG_RATES = ("6", "22.5", "0.6", "7.5", "12")  # Sonnet 4.5 over 200k input tokens
WEB_SEARCH_CENTS = Decimal(1)  # USD 10 per 1,000 searches
ARCHIVED_ON = date(2025, 6, 30)
WORKSPACES = (
    ("Production", "#6C5BB9", None),
    ("Research", "#2F8F6B", None),
    ("Legacy", "#B95B5B", ARCHIVED_ON),
)
KEYS = (  # name, workspace index (None: default workspace), status
    ("prod-backend", 0, "active"),
    ("prod-priority", 0, "active"),
    ("research-notebooks", 1, "active"),
    ("legacy-batch", 2, "archived"),
    ("default-key", None, "active"),
    ("old-intern-key", 1, "inactive"),
)
STREAMS = (  # workspace index, key index (None: Console usage), model, service tier
    (0, 0, SONNET, "standard"),
    (0, 0, HAIKU, "standard"),
    (0, 1, SONNET, "priority"),
    (0, 1, NEBULA, "priority"),
    (1, 2, OPUS, "standard"),
    (1, 2, NEBULA, "standard"),
    (2, 3, HAIKU, "standard"),
    (None, 4, HAIKU, "standard"),
    (None, None, SONNET, "standard"),
)


class BadRequest(Exception):
    """Answered 400 with the message, in Anthropic's error shape."""


def error_body(status: int, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
        "request_id": f"req_{next(_request_ids):024d}",
    }


_request_ids = itertools.count(1)


def _ident(seed: int, prefix: str, index: int) -> str:
    alphabet = string.ascii_letters + string.digits
    generator = rng(seed, "anthropic", prefix, index)
    return prefix + "_01" + "".join(generator.choice(alphabet) for _ in range(22))


def _stamp(day: date) -> str:
    return datetime.combine(day, time.min, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class UsageRow:
    """One day's usage of one (workspace, key, model, tier, context window), the finest grain served."""

    day: date
    workspace_id: str | None
    api_key_id: str | None
    model: str
    service_tier: str
    context_window: str
    uncached_input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_5m: int
    cache_write_1h: int
    web_search_requests: int

    def counts(self) -> tuple[int, ...]:
        """Tokens in TOKEN_TYPES order."""
        return (
            self.uncached_input_tokens,
            self.output_tokens,
            self.cache_read_input_tokens,
            self.cache_write_5m,
            self.cache_write_1h,
        )


@dataclass(frozen=True)
class CostRow:
    day: date
    workspace_id: str | None
    description: str
    cost_type: str
    cents: Decimal
    model: str | None = None
    token_type: str | None = None
    service_tier: str | None = None
    context_window: str | None = None

    @property
    def usd(self) -> Decimal:
        return self.cents.scaleb(-2)


class AnthropicDataset:
    """The emulated organisation, and the exact figures a correct collector must find."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.workspaces = [self._workspace(i, *spec) for i, spec in enumerate(WORKSPACES)]
        self.api_keys = [self._api_key(i, *spec) for i, spec in enumerate(KEYS)]
        self._usage: dict[date, tuple[UsageRow, ...]] = {}
        self._costs: dict[date, tuple[CostRow, ...]] = {}

    def _workspace(self, index: int, name: str, color: str, archived: date | None) -> dict[str, Any]:
        return {
            "id": _ident(self.seed, "wrkspc", index),
            "type": "workspace",
            "name": name,
            "created_at": f"2024-10-{10 + index}T09:30:00.000000Z",
            "display_color": color,
            "archived_at": _stamp(archived) if archived else None,
        }

    def _api_key(self, index: int, name: str, workspace: int | None, status: str) -> dict[str, Any]:
        return {
            "id": _ident(self.seed, "apikey", index),
            "type": "api_key",
            "name": name,
            "created_at": f"2024-11-{10 + index}T12:00:00.000000Z",
            "created_by": {"id": _ident(self.seed, "user", 0), "type": "user"},
            "expires_at": None,
            "partial_key_hint": f"sk-ant-api03-{name[:3].upper()}...{index:04d}",
            "status": status,
            "workspace_id": None if workspace is None else self.workspaces[workspace]["id"],
        }

    # --- generated days ----------------------------------------------------------------------

    def usage(self, day: date) -> tuple[UsageRow, ...]:
        if day not in self._usage:
            self._usage[day] = self._generate_usage(day)
        return self._usage[day]

    def _generate_usage(self, day: date) -> tuple[UsageRow, ...]:
        rows: list[UsageRow] = []
        for number, (workspace, key, model, tier) in enumerate(STREAMS):
            archived = WORKSPACES[workspace][2] if workspace is not None else None
            if archived is not None and day >= archived:
                continue  # an archived workspace has no usage after it was archived
            generator = rng(self.seed, "anthropic", day.isoformat(), number)
            if generator.random() < 0.85:
                rows.append(self._usage_row(generator, day, workspace, key, model, tier, "0-200k"))
            if model == SONNET and generator.random() < 0.35:
                rows.append(self._usage_row(generator, day, workspace, key, model, tier, "200k-1M"))
        return tuple(rows)

    def _usage_row(
        self,
        generator: random.Random,
        day: date,
        workspace: int | None,
        key: int | None,
        model: str,
        tier: str,
        context: str,
    ) -> UsageRow:
        # every long-context request has over 200k input tokens, so their day's total does too
        low = 200_001 if context == "200k-1M" else 20_000
        searches = generator.randrange(1, 25) if tier == "standard" and generator.random() < 0.3 else 0
        return UsageRow(
            day=day,
            workspace_id=None if workspace is None else self.workspaces[workspace]["id"],
            api_key_id=None if key is None else self.api_keys[key]["id"],
            model=model,
            service_tier=tier,
            context_window=context,
            uncached_input_tokens=generator.randrange(low, 2_500_000),
            output_tokens=generator.randrange(5_000, 400_000),
            cache_read_input_tokens=generator.randrange(0, 4_000_000),
            cache_write_5m=generator.randrange(0, 300_000),
            cache_write_1h=generator.randrange(0, 80_000) if generator.random() < 0.5 else 0,
            web_search_requests=searches,
        )

    def costs(self, day: date) -> tuple[CostRow, ...]:
        if day not in self._costs:
            self._costs[day] = self._generate_costs(day)
        return self._costs[day]

    def _generate_costs(self, day: date) -> tuple[CostRow, ...]:
        """The day's bill: every non-priority usage row priced, plus web searches and code execution."""
        tokens: dict[tuple[str | None, str, str, str], int] = {}
        searches: dict[str | None, int] = {}
        for row in self.usage(day):
            if row.service_tier != "standard":
                continue
            for token_type, count in zip(TOKEN_TYPES, row.counts(), strict=True):
                key = (row.workspace_id, row.model, row.context_window, token_type)
                tokens[key] = tokens.get(key, 0) + count
            searches[row.workspace_id] = searches.get(row.workspace_id, 0) + row.web_search_requests
        lines = [self._token_cost(day, *key, count) for key, count in tokens.items() if count]
        lines += [
            CostRow(day, workspace, "Web Search Usage", "web_search", count * WEB_SEARCH_CENTS)
            for workspace, count in searches.items()
            if count
        ]
        return tuple(lines + self._code_execution(day, searches))

    def _token_cost(
        self, day: date, workspace: str | None, model: str, context: str, token_type: str, count: int
    ) -> CostRow:
        name, rates = RATES[model]
        table = LONG_RATES if context == "200k-1M" else rates
        usd_per_mtok = Decimal(table[list(TOKEN_TYPES).index(token_type)])
        cents = Decimal(count) * usd_per_mtok / 10_000  # tokens x USD/MTok x 100 cents / 1e6
        description = f"{name} Usage - {TOKEN_TYPES[token_type]}"
        return CostRow(day, workspace, description, "tokens", cents, model, token_type, "standard", context)

    def _code_execution(self, day: date, workspaces: Iterable[str | None]) -> list[CostRow]:
        lines = []
        for workspace in workspaces:
            generator = rng(self.seed, "anthropic", day.isoformat(), "code", workspace)
            if generator.random() < 0.25:
                cents = money(generator, 1, 40, 5)
                lines.append(CostRow(day, workspace, "Code Execution Usage", "code_execution", cents))
        return lines

    # --- known totals (what tests compare with) -------------------------------------------------

    def _cost_rows(self, start: date, end: date) -> list[CostRow]:
        return [row for day in _days(start, end) for row in self.costs(day)]

    def usage_rows(self, start: date, end: date, *, service_tier: str | None = None) -> list[UsageRow]:
        rows = [row for day in _days(start, end) for row in self.usage(day)]
        return [row for row in rows if service_tier is None or row.service_tier == service_tier]

    def billed_total(self, start: date, end: date) -> Decimal:
        """USD billed from ``start`` to ``end`` inclusive (Priority Tier excluded, as in the API)."""
        return sum((row.usd for row in self._cost_rows(start, end)), Decimal(0))

    total = billed_total  # the name other emulators use for "what the API bills"

    def billed_by_model(self, start: date, end: date) -> dict[str, Decimal]:
        """USD per model; ``""`` for the lines without a model (web search, code execution)."""
        totals: dict[str, Decimal] = {}
        for row in self._cost_rows(start, end):
            totals[row.model or ""] = totals.get(row.model or "", Decimal(0)) + row.usd
        return totals

    def billed_by_workspace(self, start: date, end: date) -> dict[str | None, Decimal]:
        """USD per workspace id as the API reports it (None: the default workspace)."""
        totals: dict[str | None, Decimal] = {}
        for row in self._cost_rows(start, end):
            totals[row.workspace_id] = totals.get(row.workspace_id, Decimal(0)) + row.usd
        return totals

    # --- API shapes --------------------------------------------------------------------------

    def cost_results(self, day: date, groups: list[str]) -> list[dict[str, Any]]:
        totals: dict[tuple[Any, ...], Decimal] = {}
        for row in self.costs(day):
            fields = asdict(row)
            key = (
                fields["workspace_id"] if "workspace_id" in groups else None,
                *(fields[name] if "description" in groups else None for name in DESCRIBED),
            )
            totals[key] = totals.get(key, Decimal(0)) + row.cents
        return [
            {
                "amount": format(cents, "f"),
                "currency": "USD",
                "workspace_id": key[0],
                **dict(zip(DESCRIBED, key[1:], strict=True)),
            }
            for key, cents in totals.items()
        ]

    def usage_results(
        self, day: date, groups: list[str], filters: dict[str, list[str]]
    ) -> list[dict[str, Any]]:
        totals: dict[tuple[Any, ...], list[int]] = {}
        for row in self.usage(day):
            dimensions = self._dimensions(row)
            if any(values and dimensions[name] not in values for name, values in filters.items()):
                continue
            key = tuple(dimensions[name] if name in groups else None for name in USAGE_GROUPS)
            sums = totals.setdefault(key, [0] * 6)
            for index, count in enumerate((*row.counts(), row.web_search_requests)):
                sums[index] += count
        return [self._usage_result(key, sums) for key, sums in totals.items()]

    @staticmethod
    def _dimensions(row: UsageRow) -> dict[str, Any]:
        return {
            "api_key_id": row.api_key_id,
            "workspace_id": row.workspace_id,
            "model": row.model,
            "service_tier": row.service_tier,
            "context_window": row.context_window,
            "inference_geo": "global",
            "account_id": None,
            "service_account_id": None,
            "speed": "standard",
        }

    @staticmethod
    def _usage_result(key: tuple[Any, ...], sums: list[int]) -> dict[str, Any]:
        uncached, output, read, write_5m, write_1h, searches = sums
        return {
            **dict(zip(USAGE_GROUPS, key, strict=True)),
            "uncached_input_tokens": uncached,
            "cache_creation": {"ephemeral_1h_input_tokens": write_1h, "ephemeral_5m_input_tokens": write_5m},
            "cache_read_input_tokens": read,
            "output_tokens": output,
            "server_tool_use": {"web_search_requests": searches},
        }


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


# --- the HTTP side ---------------------------------------------------------------------------------


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}: invalid RFC 3339 datetime {value!r}") from None
    if moment.tzinfo is None:
        raise BadRequest(f"{name}: the datetime needs a time zone (e.g. Z)")
    return moment.astimezone(UTC)


def _number(value: str | None, name: str, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise BadRequest(f"{name}: must be an integer between 1 and {maximum}")
    return int(value)


def _flag(value: str | None, name: str) -> bool:
    if value not in (None, "true", "false"):
        raise BadRequest(f"{name}: must be true or false")
    return value == "true"


def _choices(request: Request, name: str, allowed: Iterable[str]) -> list[str]:
    values = query_list(request, name)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise BadRequest(f"{name}: unsupported value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return values


class AnthropicApi:
    """The routes, over one dataset and one configuration."""

    def __init__(self, dataset: AnthropicDataset, config: EmulatorConfig) -> None:
        self.dataset = dataset
        self.config = config

    def routes(self) -> list[Route]:
        return [
            Route("/v1/organizations/workspaces", self._guard(self.workspaces)),
            Route("/v1/organizations/api_keys", self._guard(self.api_keys)),
            Route("/v1/organizations/cost_report", self._guard(self.cost_report)),
            Route("/v1/organizations/usage_report/messages", self._guard(self.usage_report)),
        ]

    def _guard(
        self, handler: Callable[[Request], dict[str, Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            key = request.headers.get("x-api-key")
            if not key:
                return JSONResponse(error_body(401, "x-api-key header is required"), 401)
            if not key.startswith("sk-ant-admin") or key in self.config.revoked_keys:
                return JSONResponse(error_body(401, "invalid x-api-key"), 401)
            if not request.headers.get("anthropic-version"):
                return JSONResponse(error_body(400, "anthropic-version: header is required"), 400)
            try:
                return JSONResponse(handler(request))
            except BadRequest as exc:
                return JSONResponse(error_body(400, str(exc)), 400)

        return endpoint

    def _page_size(self, limit: int) -> int:
        return min(limit, self.config.page_size) if self.config.page_size else limit

    def workspaces(self, request: Request) -> dict[str, Any]:
        archived = _flag(request.query_params.get("include_archived"), "include_archived")
        items = [w for w in self.dataset.workspaces if archived or w["archived_at"] is None]
        return self._listing(request, items)

    def api_keys(self, request: Request) -> dict[str, Any]:
        status = request.query_params.get("status")
        if status not in (None, "active", "inactive", "archived", "expired"):
            raise BadRequest("status: must be one of active, inactive, archived, expired")
        workspace = request.query_params.get("workspace_id")
        items = [
            k
            for k in self.dataset.api_keys
            if status in (None, k["status"]) and workspace in (None, k["workspace_id"])
        ]
        return self._listing(request, items)

    def _listing(self, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        size = self._page_size(_number(request.query_params.get("limit"), "limit", 20, 1000))
        ids = [item["id"] for item in items]
        after, before = request.query_params.get("after_id"), request.query_params.get("before_id")
        for cursor, name in ((after, "after_id"), (before, "before_id")):
            if cursor is not None and cursor not in ids:
                raise BadRequest(f"{name}: unknown id {cursor!r}")
        if before is not None:
            end = ids.index(before)
            page, has_more = items[max(0, end - size) : end], end - size > 0
        else:
            start = ids.index(after) + 1 if after else 0
            page, has_more = items[start : start + size], start + size < len(items)
        return {
            "data": page,
            "has_more": has_more,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def cost_report(self, request: Request) -> dict[str, Any]:
        if request.query_params.get("bucket_width", "1d") != "1d":
            raise BadRequest("bucket_width: the cost report only supports 1d")
        groups = _choices(request, "group_by", COST_GROUPS)
        return self._report(request, lambda day: self.dataset.cost_results(day, groups))

    def usage_report(self, request: Request) -> dict[str, Any]:
        width = request.query_params.get("bucket_width", "1d")
        if width not in ("1d", "1h", "1m"):
            raise BadRequest("bucket_width: must be one of 1d, 1h, 1m")
        if width != "1d":
            raise BadRequest("bucket_width: this emulator serves daily (1d) buckets only")
        groups = _choices(request, "group_by", USAGE_GROUPS)
        filters = {field: query_list(request, param) for param, field in USAGE_FILTERS.items()}
        return self._report(request, lambda day: self.dataset.usage_results(day, groups, filters))

    def _report(self, request: Request, results: Callable[[date], list[dict[str, Any]]]) -> dict[str, Any]:
        query = request.query_params
        start = _moment(query.get("starting_at"), "starting_at")
        if start is None:
            raise BadRequest("starting_at: field required")
        end = _moment(query.get("ending_at"), "ending_at")
        if end is not None and end <= start:
            raise BadRequest("ending_at: must be after starting_at")
        limit = _number(query.get("limit"), "limit", 7, 31)
        days = _days(start.date(), (end - timedelta(days=1)).date() if end else today())
        position = 0
        if query.get("page") is not None:
            decoded = decode_page(query.get("page"))
            if decoded is None:
                raise BadRequest("page: invalid page token")
            position = decoded
        if not 0 <= position <= len(days):
            raise BadRequest("page: the page token does not belong to this query")
        size = self._page_size(limit)
        chunk = days[position : position + size]
        has_more = position + size < len(days)
        return {
            "data": [
                {
                    "starting_at": _stamp(day),
                    "ending_at": _stamp(day + timedelta(days=1)),
                    "results": results(day),
                }
                for day in chunk
            ],
            "has_more": has_more,
            "next_page": encode_page(position + size) if has_more else None,
        }


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return JSONResponse(error_body(status, f"{request.method} {request.url.path} not found"), status)


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    dataset = AnthropicDataset(config.seed)
    app = Starlette(
        routes=AnthropicApi(dataset, config).routes(), exception_handlers={404: _not_found, 405: _not_found}
    )
    return Emulator(app, config, error_body, dataset)
