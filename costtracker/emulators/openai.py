"""OpenAI's organisation Admin API, offline: projects, costs and usage for several workspaces.

Serves ``/v1/organization/projects``, ``/v1/organization/costs`` and ``/v1/organization/usage/<kind>``
as ``openai/openai-openapi`` documents them: bucketed pages whose ``limit`` counts buckets (costs
1-180, usage 1-31 at ``1d``, default 7), a first bucket that starts at ``start_time``, empty
buckets included, an opaque ``next_page`` passed back as ``page=``, and array parameters sent as
``k=a&k=b`` or ``k[]=a``. Only ``bucket_width=1d`` is served. Each admin key is one organisation
("workspace"). Billed costs are derived from the very usage the usage endpoints serve, at the
emulator's own price list, so the data set states exact totals for any date range.

Knobs in ``EmulatorConfig.extra``: ``projects_per_workspace`` (3), ``keys`` ({key: workspace}
added to the demo keys), ``today`` (a date; no usage after it, default the clock's today) and
``costs_lag_days`` (1: the Costs API has not reached the last N days before ``today``).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from costtracker.clock import today as clock_today
from costtracker.emulators.base import (
    Emulator,
    EmulatorConfig,
    bearer,
    decode_page,
    encode_page,
    query_list,
    rng,
)

WORKSPACES = ("edugami", "memoways", "storygami")
DEMO_KEYS = {f"sk-admin-demo-{name}-9f3c2e7a41b8d605": name for name in WORKSPACES}
DEMO_ENV = {f"OPENAI_ADMIN_KEY_{name.upper()}": key for key, name in DEMO_KEYS.items()}

# A fine-tune: billed by the emulator, but genai-prices has no price for it.
UNKNOWN_MODEL = "ft:gpt-4.1-nano-2025-04-14:demo::tutor01"
CHAT_PRICES = {  # USD per million tokens: input, cached input, output (the emulator's own bill)
    "gpt-4o-2024-08-06": (Decimal("2.5"), Decimal("1.25"), Decimal("10")),
    "gpt-4o-mini-2024-07-18": (Decimal("0.15"), Decimal("0.075"), Decimal("0.6")),
    "gpt-4.1-2025-04-14": (Decimal("2"), Decimal("0.5"), Decimal("8")),
    "o4-mini-2025-04-16": (Decimal("1.1"), Decimal("0.275"), Decimal("4.4")),
    UNKNOWN_MODEL: (Decimal("0.2"), Decimal("0.05"), Decimal("0.8")),
}
CHAT_MODELS = tuple(model for model in CHAT_PRICES if model != UNKNOWN_MODEL)
ARCHIVED_ON = date(2025, 6, 30)  # the last project of each workspace was archived then
PROJECT_NAMES = ("Default project", "Tutor bot", "Story engine", "Support", "Analytics", "Labs")

_GROUPS = ("project_id", "user_id", "api_key_id", "model")
USAGE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {  # kind -> (result object, group_by fields)
    "completions": ("organization.usage.completions.result", (*_GROUPS, "batch", "service_tier")),
    "embeddings": ("organization.usage.embeddings.result", _GROUPS),
    "moderations": ("organization.usage.moderations.result", _GROUPS),
    "images": ("organization.usage.images.result", (*_GROUPS, "size", "source")),
    "audio_speeches": ("organization.usage.audio_speeches.result", _GROUPS),
    "audio_transcriptions": ("organization.usage.audio_transcriptions.result", _GROUPS),
    "vector_stores": ("organization.usage.vector_stores.result", ("project_id",)),
    "code_interpreter_sessions": ("organization.usage.code_interpreter_sessions.result", ("project_id",)),
}
COST_GROUPS = ("project_id", "line_item", "api_key_id")
DIMENSIONS = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier", "size", "source"}


class Unauthorised(Exception):
    pass


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def error_body(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's ``ErrorResponse``: ``{"error": {message, type, param, code}}``."""
    kinds = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}
    codes = {401: "invalid_api_key", 429: "rate_limit_exceeded"}
    kind = kinds.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code or codes.get(status)}}


@dataclass(frozen=True)
class Project:
    workspace: str
    id: str
    name: str
    created_at: int
    archived_at: int | None
    api_key_id: str
    models: tuple[str, ...]

    def active_on(self, day: date) -> bool:
        return self.archived_at is None or day < _bucket_day(self.archived_at)


@dataclass(frozen=True)
class CostLine:
    project_id: str
    api_key_id: str
    line_item: str
    model: str  # '' when the line names no model
    amount: Decimal
    quantity: int | None = None
    unit: str | None = None


@dataclass
class Day:
    usage: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    costs: list[CostLine] = field(default_factory=list)


def _hex(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class OpenAIDataset:
    """Deterministic usage and costs per workspace and day, and the exact totals tests compare with."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.seed = config.seed
        self.projects_per_workspace = int(config.extra.get("projects_per_workspace", 3))
        self.keys: dict[str, str] = {**DEMO_KEYS, **config.extra.get("keys", {})}
        self.today: date = config.extra.get("today") or clock_today()
        self.costs_through = self.today - timedelta(days=int(config.extra.get("costs_lag_days", 1)))
        self._days: dict[tuple[str, date], Day] = {}

    def workspace_for(self, key: str | None) -> str | None:
        return self.keys.get(key or "")

    @cached_property
    def _projects(self) -> dict[str, list[Project]]:
        return {
            name: [self._project(name, i) for i in range(self.projects_per_workspace)]
            for name in sorted(set(self.keys.values()))
        }

    def projects(self, workspace: str) -> list[Project]:
        return self._projects.get(workspace, [])

    def _project(self, workspace: str, index: int) -> Project:
        generator = rng(self.seed, "openai", workspace, "project", index)
        models = tuple(generator.sample(CHAT_MODELS, generator.randint(1, 3)))
        archived = index == self.projects_per_workspace - 1 and index > 0
        name = PROJECT_NAMES[index % len(PROJECT_NAMES)]
        name += f" {index}" if index >= len(PROJECT_NAMES) else ""
        return Project(
            workspace,
            f"proj_{_hex(self.seed, workspace, index)[:20]}",
            name,
            _ts(date(2024, 1, 8) + timedelta(days=index)),
            _ts(ARCHIVED_ON) if archived else None,
            f"key_{_hex(self.seed, workspace, index, 'key')[:16]}",
            (UNKNOWN_MODEL, *models) if index == 0 else models,
        )

    def day(self, workspace: str, day: date) -> Day:
        if (workspace, day) not in self._days:
            self._days[(workspace, day)] = self._generate(workspace, day)
        return self._days[(workspace, day)]

    def _generate(self, workspace: str, day: date) -> Day:
        result = Day()
        if day > self.today:
            return result
        generator = rng(self.seed, "openai", workspace, day.isoformat())
        for project in self.projects(workspace):
            if project.active_on(day):
                for kind, row in _project_usage(generator, project):
                    result.usage[kind].append(row)
                    result.costs.extend(_bill(kind, row))
        if day > self.costs_through:
            result.costs = []
        return result

    def cost_lines(self, start: date, end: date, workspace: str | None = None) -> Iterator[CostLine]:
        """Every billed line from ``start`` to ``end`` inclusive (all workspaces when None)."""
        for name in [workspace] if workspace else sorted(self._projects):
            day = start
            while day <= end:
                yield from self.day(name, day).costs
                day += timedelta(days=1)

    def billed_total(self, start: date, end: date, workspace: str | None = None) -> Decimal:
        return sum((line.amount for line in self.cost_lines(start, end, workspace)), Decimal(0))

    def billed_by_model(self, start: date, end: date, workspace: str | None = None) -> dict[str, Decimal]:
        return _sum_by((line.model, line.amount) for line in self.cost_lines(start, end, workspace))

    def billed_by_project(self, start: date, end: date, workspace: str | None = None) -> dict[str, Decimal]:
        return _sum_by((line.project_id, line.amount) for line in self.cost_lines(start, end, workspace))

    def usage_total(
        self, start: date, end: date, kind: str, counter: str, *, workspace: str, model: str | None = None
    ) -> int:
        """A usage counter (``input_tokens``...) summed over days, for one model or all."""
        total, day = 0, start
        while day <= end:
            rows = self.day(workspace, day).usage.get(kind, [])
            total += sum(int(row[counter]) for row in rows if model is None or row.get("model") == model)
            day += timedelta(days=1)
        return total


def _sum_by(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for key, amount in pairs:
        totals[key] += amount
    return dict(totals)


@dataclass(frozen=True)
class Meter:
    """A usage kind besides completions: how often a project uses it, and how it is billed."""

    kind: str
    chance: float
    model: str | None  # None: the endpoint has no model, its cost line names none
    counter: str
    low: int
    high: int
    price: Decimal  # USD per counted unit; 0 = not billed
    item: str
    unit: str
    step: int = 1


# fmt: off
METERS = (  # kind, chance, model, counter, draw range, USD per unit, line item, quantity unit
    Meter("embeddings", 0.5, "text-embedding-3-small", "input_tokens", 10_000, 5_000_000,
          Decimal("0.00000002"), "input", "tokens"),
    Meter("moderations", 0.3, "omni-moderation-latest", "input_tokens", 1_000, 200_000, Decimal(0), "", ""),
    Meter("images", 0.2, "dall-e-3", "images", 1, 40, Decimal("0.04"), "images", "images"),
    Meter("audio_speeches", 0.3, "tts-1", "characters", 1_000, 400_000, Decimal("0.000015"),
          "characters", "characters"),
    Meter("audio_transcriptions", 0.3, "whisper-1", "seconds", 30, 20_000, Decimal("0.0001"),
          "transcription", "duration_seconds"),
    Meter("vector_stores", 0.5, None, "usage_bytes", 1, 500_000, Decimal("1e-10"), "vector store storage",
          "bytes", step=10_000),
    Meter("code_interpreter_sessions", 0.2, None, "num_sessions", 1, 60, Decimal("0.03"),
          "code interpreter sessions", "sessions"),
)
# fmt: on
EXTRAS = {"images": {"size": "1024x1024", "source": "image.generation"}}


def _row(project: Project, model: str | None, **counters: Any) -> dict[str, Any]:
    dimensions = {"project_id": project.id, "api_key_id": project.api_key_id, "user_id": None, "model": model}
    return {**dimensions, "batch": False, "service_tier": "default", **counters}


def _project_usage(g: random.Random, project: Project) -> Iterator[tuple[str, dict[str, Any]]]:
    """One project's usage for one day; the draws happen in a fixed order (determinism)."""
    for model in project.models:
        if g.random() < 0.85:
            tokens = g.randrange(20_000, 2_500_000)
            counters = {
                "input_tokens": tokens,
                "input_cached_tokens": g.randrange(0, tokens // 2),
                "output_tokens": g.randrange(tokens // 50, tokens // 5),
                "input_audio_tokens": 0,
                "output_audio_tokens": 0,
                "num_model_requests": g.randrange(5, 1500),
            }
            yield "completions", _row(project, model, **counters)
    for meter in METERS:
        if g.random() < meter.chance:
            counters = {meter.counter: g.randrange(meter.low, meter.high) * meter.step}
            if meter.model:
                counters["num_model_requests"] = g.randrange(1, 300)
            yield meter.kind, {**_row(project, meter.model, **counters), **EXTRAS.get(meter.kind, {})}


def _bill(kind: str, row: dict[str, Any]) -> list[CostLine]:
    """What the bill says for one usage row (at most 9 decimals, so a JSON float carries it exactly)."""
    model = row["model"] or ""

    def line(item: str, quantity: int, price: Decimal, unit: str) -> CostLine:
        named = f"{model}, {item}" if model else item
        return CostLine(row["project_id"], row["api_key_id"], named, model, quantity * price, quantity, unit)

    if kind == "completions":
        per_token = [price / 10**6 for price in CHAT_PRICES[model]]
        cached = row["input_cached_tokens"]
        lines = [
            line("input", row["input_tokens"] - cached, per_token[0], "tokens"),
            line("cached input", cached, per_token[1], "tokens"),
            line("output", row["output_tokens"], per_token[2], "tokens"),
        ]
        return [item for item in lines if item.quantity]
    meter = next(meter for meter in METERS if meter.kind == kind)
    return [line(meter.item, row[meter.counter], meter.price, meter.unit)] if meter.price else []


# --- HTTP ------------------------------------------------------------------------------------


def _int(
    request: Request,
    name: str,
    *,
    default: int | None = None,
    low: int | None = None,
    high: int | None = None,
) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise BadRequest(f"Missing required parameter: '{name}'.", name)
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid value for '{name}': expected an integer.", name) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadRequest(f"Invalid value for '{name}': must be between {low} and {high}.", name)
    return value


def _group_by(request: Request, allowed: tuple[str, ...]) -> list[str]:
    fields = query_list(request, "group_by")
    for name in fields:
        if name not in allowed:
            raise BadRequest(
                f"Invalid value for 'group_by': '{name}' is not one of {', '.join(allowed)}.", "group_by"
            )
    return fields


def _ts(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())


def _midnight_after(timestamp: int) -> int:
    return _ts(_bucket_day(timestamp) + timedelta(days=1))


def _buckets(
    request: Request, dataset: OpenAIDataset, config: EmulatorConfig, max_limit: int
) -> tuple[list[tuple[int, int]], str | None]:
    """The page's (start, end) buckets and the cursor of the next page."""
    if request.query_params.get("bucket_width", "1d") != "1d":
        raise BadRequest("Invalid value for 'bucket_width': this emulator serves '1d' only.", "bucket_width")
    start = _int(request, "start_time", low=0)
    end = _int(request, "end_time", default=_ts(dataset.today + timedelta(days=1)), low=start + 1)
    limit = _int(request, "limit", default=7, low=1, high=max_limit)
    limit = min(limit, config.page_size or limit)
    cursor = request.query_params.get("page")
    position = decode_page(cursor) if cursor else start
    if position is None or not start <= position <= end:
        raise BadRequest("Invalid value for 'page': not a cursor this query returned.", "page")
    buckets: list[tuple[int, int]] = []
    while position < end and len(buckets) < limit:
        buckets.append((position, _midnight_after(position)))
        position = buckets[-1][1]
    return buckets, encode_page(position) if position < end else None


def _page(
    buckets: list[tuple[int, int]], results: Iterable[list[dict[str, Any]]], cursor: str | None
) -> JSONResponse:
    data = [
        {"object": "bucket", "start_time": start, "end_time": end, "results": rows}
        for (start, end), rows in zip(buckets, results, strict=True)
    ]
    return JSONResponse({"object": "page", "data": data, "has_more": cursor is not None, "next_page": cursor})


def _bucket_day(start: int) -> date:
    return datetime.fromtimestamp(start, UTC).date()


def _grouped(
    rows: list[dict[str, Any]], fields: tuple[str, ...], group_by: list[str], obj: str
) -> list[dict[str, Any]]:
    """Sum counters over rows sharing the grouped fields; ungrouped fields come out null."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row.get(name) for name in group_by)
        result = groups.setdefault(
            key, {"object": obj, **{name: None for name in fields}, **dict(zip(group_by, key, strict=True))}
        )
        for name, value in row.items():
            if name not in DIMENSIONS:
                result[name] = result.get(name, 0) + value
    return list(groups.values())


def _filtered(rows: Iterable[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    projects, models = set(query_list(request, "project_ids")), set(query_list(request, "models"))
    return [
        row
        for row in rows
        if (not projects or row["project_id"] in projects) and (not models or row.get("model") in models)
    ]


def _cost_results(lines: list[CostLine], group_by: list[str]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in lines:
        key = tuple(getattr(line, name) for name in group_by)
        result = groups.setdefault(
            key,
            {
                "object": "organization.costs.result",
                "amount": Decimal(0),
                **{name: None for name in COST_GROUPS},
                **dict(zip(group_by, key, strict=True)),
                "quantity": 0 if "line_item" in group_by else None,
                "quantity_unit": line.unit if "line_item" in group_by else None,
            },
        )
        result["amount"] += line.amount
        if result["quantity"] is not None:
            result["quantity"] += line.quantity or 0
    return [
        {**result, "amount": {"value": float(result["amount"]), "currency": "usd"}}
        for result in groups.values()
    ]


class OpenAIApi:
    """The route handlers, over one data set and configuration."""

    def __init__(self, dataset: OpenAIDataset, config: EmulatorConfig) -> None:
        self.dataset = dataset
        self.config = config

    def workspace(self, request: Request) -> str:
        key = bearer(request)
        if key is None:
            raise Unauthorised(
                "You didn't provide an API key. Provide it in an Authorization header "
                "(Authorization: Bearer YOUR_KEY)."
            )
        workspace = self.dataset.workspace_for(key)
        if workspace is None or key in self.config.revoked_keys:
            raise Unauthorised(
                f"Incorrect API key provided: {key[:3]}{'*' * 20}{key[-4:]}. "
                "You can find your API key at https://platform.openai.com/account/api-keys."
            )
        return workspace

    async def projects(self, request: Request) -> JSONResponse:
        workspace = self.workspace(request)
        limit = _int(request, "limit", default=20, low=1, high=100)
        limit = min(limit, self.config.page_size or limit)
        archived = request.query_params.get("include_archived", "false")
        if archived not in ("true", "false"):
            raise BadRequest("Invalid value for 'include_archived': expected a boolean.", "include_archived")
        listed = [p for p in self.dataset.projects(workspace) if archived == "true" or p.archived_at is None]
        ids = [p.id for p in listed]
        after = request.query_params.get("after")
        if after is not None and after not in ids:
            raise BadRequest(f"Invalid value for 'after': no project '{after}'.", "after")
        start = ids.index(after) + 1 if after else 0
        page = listed[start : start + limit]
        return JSONResponse(
            {
                "object": "list",
                "data": [_project_json(p) for p in page],
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": start + limit < len(listed),
            }
        )

    async def costs(self, request: Request) -> JSONResponse:
        workspace = self.workspace(request)
        group_by = _group_by(request, COST_GROUPS)
        buckets, cursor = _buckets(request, self.dataset, self.config, 180)
        projects, keys = set(query_list(request, "project_ids")), set(query_list(request, "api_key_ids"))
        results = []
        for start, _ in buckets:
            lines = [
                line
                for line in self.dataset.day(workspace, _bucket_day(start)).costs
                if (not projects or line.project_id in projects) and (not keys or line.api_key_id in keys)
            ]
            results.append(_cost_results(lines, group_by))
        return _page(buckets, results, cursor)

    async def usage(self, request: Request) -> JSONResponse:
        kind = request.path_params["kind"]
        workspace = self.workspace(request)
        if kind not in USAGE_KINDS:
            return JSONResponse(error_body(404, f"Invalid URL (GET /v1/organization/usage/{kind})"), 404)
        obj, fields = USAGE_KINDS[kind]
        group_by = _group_by(request, fields)
        buckets, cursor = _buckets(request, self.dataset, self.config, 31)
        results = []
        for start, _ in buckets:
            rows = self.dataset.day(workspace, _bucket_day(start)).usage.get(kind, [])
            results.append(_grouped(_filtered(rows, request), fields, group_by, obj))
        return _page(buckets, results, cursor)


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    param = exc.param if isinstance(exc, BadRequest) else None
    return JSONResponse(error_body(400, str(exc), param=param), 400)


async def _unauthorised(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body(401, str(exc)), 401)


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    dataset = OpenAIDataset(config)
    api = OpenAIApi(dataset, config)
    app = Starlette(
        routes=[
            Route("/v1/organization/projects", api.projects),
            Route("/v1/organization/costs", api.costs),
            Route("/v1/organization/usage/{kind}", api.usage),
        ],
        exception_handlers={BadRequest: _bad_request, Unauthorised: _unauthorised},
    )
    return Emulator(app, config, error_body, dataset)


def _project_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "object": "organization.project",
        "name": project.name,
        "created_at": project.created_at,
        "archived_at": project.archived_at,
        "status": "archived" if project.archived_at else "active",
        "external_key_id": None,
    }
