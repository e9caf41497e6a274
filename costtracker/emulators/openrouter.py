"""OpenRouter's account API, offline: credits, keys and daily activity per model and provider endpoint.

Serves what ``OpenRouterTeam/docs`` ``openapi/openapi.yaml`` (@c26125a, 2026-08-22) documents:

* ``GET /api/v1/credits`` (management key): ``{data: {total_credits, total_usage}}``;
* ``GET /api/v1/key`` (any key): the calling key's running totals;
* ``GET /api/v1/keys`` (management key): the keys with their running totals, 100 a page, ``offset``
  to page on (no ``has_more``: a short or empty page ends the list), ``include_disabled``,
  ``workspace_id``;
* ``GET /api/v1/activity`` (management key): rows per day x model x provider endpoint for the last
  30 *completed* UTC days, filtered by ``date``, ``api_key_hash``, ``workspace_id``; ``group_by=workspace``
  adds ``workspace_id`` to each row.

Errors are ``{"error": {"code", "message"}}``. A normal key on a management path gets 403 "Only
management keys can perform this operation" (spec). An unknown or revoked key gets 401 "User not
found." and a missing one 401 "No auth credentials found" (observed in client reports, not in the
spec). A ``date`` outside the window gets 400 "Date must be within the last 30 (completed) UTC days"
(observed: steipete/CodexBar#3133, 2026-08). Money is USD floats with at most 9 decimals, exactly
representable. OpenRouter has no array parameters, so ``k[]=`` encodings do not apply here.

Knobs in ``EmulatorConfig.extra``: ``today`` (a date or ``YYYY-MM-DD``; default the clock's today),
which moves the activity window and the running totals.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from costtracker.clock import today as clock_today
from costtracker.emulators.base import Emulator, EmulatorConfig, bearer, money, rng

MANAGEMENT_KEY = "sk-or-v1-demo-management-7c1e9a04d2b65f38"
API_KEY = "sk-or-v1-demo-inference-3b8f0d6e91a2c457"  # the inference key of the first listed key
DEMO_ENV = {"OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY}

WINDOW_DAYS = 30
PAGE_SIZE = 100
WORKSPACE_ID = "0df9e665-d932-5740-b2c7-b52af166bc11"
USER_ID = "user_2dHFtVWx2n56w6HkMdemo000000"
ACCOUNT_START = date(2025, 9, 1)  # running totals (credits, key usage) count from this day
OUTSIDE_WINDOW = "Date must be within the last 30 (completed) UTC days"
UNKNOWN_MODEL = "acme/orca-9b-preview"  # billed by OpenRouter, unknown to every price table


@dataclass(frozen=True)
class Endpoint:
    model: str
    permaslug: str
    provider: str
    id: str


ENDPOINTS = (
    Endpoint("openai/gpt-4.1", "openai/gpt-4.1-2025-04-14", "OpenAI", "550e8400-e29b-41d4-a716-446655440000"),
    Endpoint(
        "anthropic/claude-sonnet-4",
        "anthropic/claude-4-sonnet-20250522",
        "Anthropic",
        "a1b2c3d4-0000-4000-8000-000000000001",
    ),
    Endpoint(
        "meta-llama/llama-3.3-70b-instruct",
        "meta-llama/llama-3.3-70b-instruct",
        "DeepInfra",
        "a1b2c3d4-0000-4000-8000-000000000002",
    ),
    Endpoint(
        "meta-llama/llama-3.3-70b-instruct",
        "meta-llama/llama-3.3-70b-instruct",
        "Together",
        "a1b2c3d4-0000-4000-8000-000000000003",
    ),
    Endpoint(
        "google/gemini-2.5-flash",
        "google/gemini-2.5-flash",
        "Google AI Studio",
        "a1b2c3d4-0000-4000-8000-000000000004",
    ),
    Endpoint(
        UNKNOWN_MODEL, "acme/orca-9b-preview-2026-01-10", "Acme Cloud", "a1b2c3d4-0000-4000-8000-000000000005"
    ),
)


@dataclass(frozen=True)
class Key:
    name: str
    disabled: bool = False
    used: bool = True  # False: a key that never made a request

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"sk-or-v1-{self.hash[:3]}...{self.hash[-3:]}"


KEYS = (
    Key("Edugami production"),
    Key("Edugami staging"),
    Key("Support bot"),
    Key("Old experiment", disabled=True),
    Key("Spare key", used=False),
)


@dataclass(frozen=True)
class Row:
    """One day of one key (None: not made with a listed key, e.g. the chatroom) on one endpoint."""

    day: date
    key: str | None
    endpoint: Endpoint
    usage: Decimal
    byok: Decimal
    requests: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message}}


@lru_cache(maxsize=4096)
def _day_rows(seed: int, day: date) -> tuple[Row, ...]:
    rows: list[Row] = []
    for owner in [key.hash for key in KEYS if key.used] + [None]:
        g = rng(seed, "openrouter", day.isoformat(), owner or "-")
        if owner is None and g.random() < 0.4:
            continue
        for endpoint in g.sample(ENDPOINTS, g.randint(1, 3)):
            byok = (
                money(g, 0, 2, 9) if owner == KEYS[1].hash and endpoint.provider == "OpenAI" else Decimal(0)
            )
            rows.append(
                Row(
                    day,
                    owner,
                    endpoint,
                    money(g, 0, 4, 9),
                    byok,
                    g.randint(1, 400),
                    g.randint(1_000, 900_000),
                    g.randint(100, 90_000),
                    g.randint(0, 5_000),
                )
            )
    return tuple(rows)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _sum(rows: Iterable[Row], field: Callable[[Row], Decimal] = lambda row: row.usage) -> Decimal:
    return sum((field(row) for row in rows), Decimal(0))


class OpenRouterDataset:
    """Deterministic activity for any day; totals a test can compare with, exactly."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.seed = config.seed
        self._today = config.extra.get("today")

    def today(self) -> date:
        if self._today is None:
            return clock_today()
        return self._today if isinstance(self._today, date) else date.fromisoformat(str(self._today))

    def window(self) -> tuple[date, date]:
        """The days ``/activity`` serves: the last 30 completed UTC days."""
        today = self.today()
        return today - timedelta(days=WINDOW_DAYS), today - timedelta(days=1)

    def rows(self, start: date, end: date, key: str | None = None) -> Iterator[Row]:
        for day in _days(start, end):
            yield from (row for row in _day_rows(self.seed, day) if key is None or row.key == key)

    def total(self, start: date, end: date) -> Decimal:
        return _sum(self.rows(start, end))

    def by_model(self, start: date, end: date) -> dict[str, Decimal]:
        return _group(self.rows(start, end), lambda row: row.endpoint.model)

    def by_key(self, start: date, end: date) -> dict[str, Decimal]:
        """Spend per key hash; '' for spend not made with a listed key."""
        return _group(self.rows(start, end), lambda row: row.key or "")

    def usage_stats(self, key: str | None) -> dict[str, Decimal]:
        """Running totals as ``/key`` and ``/keys`` give them (``key`` None: the whole account)."""
        today = self.today()
        periods = {
            "": ACCOUNT_START,
            "_daily": today,
            "_weekly": today - timedelta(days=today.weekday()),
            "_monthly": today.replace(day=1),
        }
        stats: dict[str, Decimal] = {}
        for suffix, start in periods.items():
            rows = list(self.rows(max(start, ACCOUNT_START), today, key))
            stats[f"usage{suffix}"] = _sum(rows)
            stats[f"byok_usage{suffix}"] = _sum(rows, lambda row: row.byok)
        return stats


def _group(rows: Iterable[Row], by: Callable[[Row], str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        out[by(row)] += row.usage
    return dict(out)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _activity_item(rows: list[Row], grouped: bool) -> dict[str, Any]:
    first = rows[0]
    item: dict[str, Any] = {
        "date": first.day.isoformat(),
        "model": first.endpoint.model,
        "model_permaslug": first.endpoint.permaslug,
        "endpoint_id": first.endpoint.id,
        "provider_name": first.endpoint.provider,
        "usage": float(_sum(rows)),
        "byok_usage_inference": float(_sum(rows, lambda row: row.byok)),
        "requests": sum(row.requests for row in rows),
        "prompt_tokens": sum(row.prompt_tokens for row in rows),
        "completion_tokens": sum(row.completion_tokens for row in rows),
        "reasoning_tokens": sum(row.reasoning_tokens for row in rows),
    }
    if grouped:
        item["workspace_id"] = WORKSPACE_ID
    return item


def _key_body(dataset: OpenRouterDataset, key: Key | None) -> dict[str, Any]:
    """The usage fields shared by ``/key`` and ``/keys`` (``key`` None: the management key)."""
    stats = dataset.usage_stats(key.hash) if key else {}
    usage = {
        name: float(stats.get(name, Decimal(0)))
        for name in (
            "usage",
            "usage_daily",
            "usage_weekly",
            "usage_monthly",
            "byok_usage",
            "byok_usage_daily",
            "byok_usage_weekly",
            "byok_usage_monthly",
        )
    }
    limit = Decimal(500) if key is KEYS[0] else None
    remaining = max(Decimal(0), limit - stats["usage_monthly"]) if limit is not None else None
    return {
        "label": key.label if key else "sk-or-v1-mgm...f38",
        "limit": _money(limit),
        "limit_remaining": _money(remaining),
        "limit_reset": "monthly" if limit is not None else None,
        "include_byok_in_limit": False,
        **usage,
        "expires_at": None,
        "creator_user_id": USER_ID,
    }


def _listed_key(dataset: OpenRouterDataset, key: Key) -> dict[str, Any]:
    return {
        "hash": key.hash,
        "name": key.name,
        "disabled": key.disabled,
        **_key_body(dataset, key),
        "created_at": "2025-09-01T10:30:00Z",
        "updated_at": "2026-01-15T15:45:00Z",
        "workspace_id": WORKSPACE_ID,
    }


def _caller(request: Request, config: EmulatorConfig, *, management: bool) -> str:
    key = bearer(request)
    if not key:
        raise ApiError(401, "No auth credentials found")
    if key in config.revoked_keys or key not in (MANAGEMENT_KEY, API_KEY):
        raise ApiError(401, "User not found.")
    if management and key != MANAGEMENT_KEY:
        raise ApiError(403, "Only management keys can perform this operation")
    return key


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset") or "0"
    if not raw.isdigit():
        raise ApiError(400, "Invalid request parameters: offset must be a non-negative integer")
    return int(raw)


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ApiError(400, f"Invalid request parameters: {name} must be true or false")
    return raw == "true"


def _activity_days(request: Request, dataset: OpenRouterDataset) -> tuple[date, date]:
    start, end = dataset.window()
    raw = request.query_params.get("date")
    if raw is None:
        return start, end
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "Invalid request parameters: date must be YYYY-MM-DD") from None
    if not start <= day <= end:
        raise ApiError(400, OUTSIDE_WINDOW)
    return day, day


def _activity(request: Request, dataset: OpenRouterDataset) -> list[dict[str, Any]]:
    group_by = request.query_params.get("group_by")
    if group_by not in (None, "workspace"):
        raise ApiError(400, "Invalid request parameters: group_by must be 'workspace'")
    start, end = _activity_days(request, dataset)
    if request.query_params.get("workspace_id", WORKSPACE_ID) != WORKSPACE_ID:
        return []
    grouped: dict[tuple[date, str], list[Row]] = defaultdict(list)
    for row in dataset.rows(start, end, request.query_params.get("api_key_hash")):
        grouped[(row.day, row.endpoint.id)].append(row)
    return [_activity_item(rows, group_by == "workspace") for _, rows in sorted(grouped.items())]


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    dataset = OpenRouterDataset(config)
    page_size = config.page_size or PAGE_SIZE

    async def credits(request: Request) -> Response:
        _caller(request, config, management=True)
        used = dataset.usage_stats(None)["usage"]
        purchased = (used // 100 + 2) * 100 + Decimal("0.5")
        return JSONResponse({"data": {"total_credits": float(purchased), "total_usage": float(used)}})

    async def current_key(request: Request) -> Response:
        key = _caller(request, config, management=False)
        listed = KEYS[0] if key == API_KEY else None
        return JSONResponse(
            {
                "data": {
                    **_key_body(dataset, listed),
                    "is_free_tier": False,
                    "is_management_key": listed is None,
                    "is_provisioning_key": listed is None,
                    "rate_limit": {
                        "requests": -1,
                        "interval": "10s",
                        "note": "This field is deprecated and safe to ignore.",
                    },
                }
            }
        )

    async def keys(request: Request) -> Response:
        _caller(request, config, management=True)
        offset, disabled = _offset(request), _flag(request, "include_disabled")
        listed = [key for key in KEYS if disabled or not key.disabled]
        if request.query_params.get("workspace_id", WORKSPACE_ID) != WORKSPACE_ID:
            listed = []
        return JSONResponse(
            {"data": [_listed_key(dataset, key) for key in listed[offset : offset + page_size]]}
        )

    async def activity(request: Request) -> Response:
        _caller(request, config, management=True)
        return JSONResponse({"data": _activity(request, dataset)})

    async def refuse(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(error_body(exc.status, exc.message), exc.status)

    app = Starlette(
        routes=[
            Route("/api/v1/credits", credits),
            Route("/api/v1/key", current_key),
            Route("/api/v1/keys", keys),
            Route("/api/v1/activity", activity),
        ],
        exception_handlers={ApiError: refuse},
    )
    return Emulator(app, config, error_body, dataset)
