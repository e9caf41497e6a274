"""Mistral's Enterprise Admin API usage endpoint, offline: one month of metered usage and its prices.

Verified (``mistralai/platform-docs-public`` @222f4ba, 2026-08-21: ``public/openapi.yaml`` operation
``users_api_admin_usage_get_usage`` and the "Usage metrics" / "Authentication" admin guides):

* ``GET /v1/admin/usage`` on ``https://api.mistral.ai`` with optional ``month``, ``year`` (whole numbers
  as strings, "5" and "05" both work), ``workspace_id`` (uuid) and ``api_zone`` (global | us | eu);
* the admin key in ``x-api-key`` (guides) or ``Authorization: Bearer`` (the OpenAPI security scheme):
  both are accepted here;
* the top level of ``UsageOUTJSON``: the categories ``completion``, ``chat``, ``ocr``, ``connectors``,
  ``audio``, ``audio_characters`` (``{models: {model: {...: [object]}}}``), ``libraries_api`` (``pages``,
  ``tokens``, ``audio_seconds``), ``fine_tuning`` (``training``, ``storage``), ``vibe_code`` (sub-categories),
  ``vibe_usage`` (legacy, always 0), ``date``, ``start_date``, ``end_date``, ``previous_month``,
  ``next_month``, ``currency``, ``currency_symbol`` and ``prices`` (``PriceData``: ``event_type``,
  ``billing_metric``, ``billing_group``, ``api_zone``, ``service_tier``, ``price`` number or string).

UNVERIFIED (the spec types the per-model objects as free-form): the lanes ``input``/``output``/
``cached`` and the entries ``{billing_metric, billing_group, billing_display_name, timestamp, value,
value_paid}`` follow what third-party clients read from the console's own usage endpoint (same
field names), as does "cost = value_paid x the price of (billing_metric, billing_group)". The model
keys, metric and group names, ``previous_month``/``next_month`` (null here), the older path
``/api/admin/usage`` (earlier doc versions; also served) and the error bodies (401 ``{"detail":
"Unauthorized"}`` as api.mistral.ai answers inference calls; 422 FastAPI ``HTTPValidationError``, the
spec's error schema) are assumptions. Nothing else of the admin API is served. There are no array
parameters, so ``k[]=`` encodings do not apply here.

Knobs in ``EmulatorConfig.extra``: ``today`` (no usage after it; default the clock's today) and
``currency`` ("EUR").
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterator
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
from costtracker.emulators.base import Emulator, EmulatorConfig, bearer, rng

ADMIN_KEY = "mistral-admin-demo-4e7b1c9a02d83f65"
DEMO_ENV = {"MISTRAL_ADMIN_KEY": ADMIN_KEY}
PATHS = ("/v1/admin/usage", "/api/admin/usage")
WORKSPACE_ID = "5b4f3c2a-1d0e-4f9a-8b7c-6d5e4f3a2b1c"
UNPRICED_MODEL = "mistral-medium-2611-preview"  # metered, but the response carries no price for it
SYMBOLS = {"EUR": "€", "USD": "$"}


@dataclass(frozen=True)
class Service:
    path: tuple[str, ...]  # where its ``{model: lanes}`` map sits in the response
    event_type: str
    models: dict[str, tuple[str, ...]]  # model -> lanes
    high: int  # most units a day
    paid_share: float = 1.0  # chance that an entry is paid (else covered by an allowance: value_paid 0)


SERVICES = {  # line item -> service
    "completion": Service(
        ("completion", "models"),
        "api_tokens",
        {
            "mistral-large-2411": ("input", "output", "cached"),
            "mistral-small-2503": ("input", "output"),
            "codestral-2501": ("input", "output"),
            UNPRICED_MODEL: ("input", "output"),
        },
        2_000_000,
    ),
    "ocr": Service(("ocr", "models"), "api_pages", {"mistral-ocr-2505": ("input",)}, 3_000),
    "audio": Service(("audio", "models"), "api_audio_seconds", {"voxtral-mini-2507": ("input",)}, 20_000),
    "libraries_api.pages": Service(
        ("libraries_api", "pages", "models"), "api_libraries_pages", {"mistral-ocr-2505": ("input",)}, 500
    ),
    "fine_tuning.training": Service(
        ("fine_tuning", "training"),
        "api_tokens",
        {"ft:open-mistral-nemo:4e7b1c9a:20260301:tutor": ("input",)},
        300_000,
    ),
    "vibe_code.completion": Service(
        ("vibe_code", "completion", "models"),
        "vibe_tokens",
        {"devstral-medium-2507": ("input", "output")},
        1_000_000,
        paid_share=0.5,
    ),
}
EMPTY_CATEGORIES: tuple[tuple[str, ...], ...] = (
    ("chat", "models"),
    ("connectors", "models"),
    ("audio_characters", "models"),
    ("libraries_api", "tokens", "models"),
    ("libraries_api", "audio_seconds", "models"),
    ("vibe_code", "ocr", "models"),
    ("vibe_code", "connectors", "models"),
    ("vibe_code", "audio", "models"),
    ("vibe_code", "audio_characters", "models"),
    ("fine_tuning", "storage"),
)


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


def error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    if status == 422:
        return {"detail": [{"loc": ["query", param or ""], "msg": message, "type": "value_error"}]}
    return {"detail": message}


@lru_cache(maxsize=512)
def price(seed: int, model: str, lane: str, event_type: str) -> Decimal | None:
    """The unit price of one metric and group: tokens ~1e-7..1e-5, pages and seconds ~1e-4..1e-2."""
    if model == UNPRICED_MODEL:
        return None
    g = rng(seed, "mistral-price", model, lane)
    places = 9 if "tokens" in event_type else 6
    return Decimal(g.randrange(100, 9_000)).scaleb(-places)


@dataclass(frozen=True)
class Entry:
    day: date
    line_item: str
    model: str
    lane: str
    value: int
    value_paid: int

    def body(self) -> dict[str, Any]:
        return {
            "billing_metric": self.model,
            "billing_group": self.lane,
            "billing_display_name": self.model,
            "timestamp": f"{self.day.isoformat()}T00:00:00Z",
            "value": self.value,
            "value_paid": self.value_paid,
        }


@lru_cache(maxsize=2048)
def _day_entries(seed: int, day: date) -> tuple[Entry, ...]:
    entries = []
    for line_item, service in SERVICES.items():
        for model, lanes in service.models.items():
            g = rng(seed, "mistral", day.isoformat(), line_item, model)
            if g.random() < 0.2:
                continue
            for lane in lanes:
                value = g.randint(1, service.high)
                entries.append(
                    Entry(day, line_item, model, lane, value, value if g.random() < service.paid_share else 0)
                )
    return tuple(entries)


def _month_days(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def months(start: date, end: date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = year + month // 12, month % 12 + 1


class MistralDataset:
    """Metered usage for any month (no day after ``today``); exact totals of whole months."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.seed = config.seed
        self.currency = str(config.extra.get("currency", "EUR"))
        self._today = config.extra.get("today")

    def today(self) -> date:
        if self._today is None:
            return clock_today()
        return self._today if isinstance(self._today, date) else date.fromisoformat(str(self._today))

    def entries(self, year: int, month: int) -> Iterator[Entry]:
        first, last = _month_days(year, month)
        day = first
        while day <= min(last, self.today()):
            yield from _day_entries(self.seed, day)
            day += timedelta(days=1)

    def cost(self, entry: Entry) -> Decimal | None:
        unit = price(self.seed, entry.model, entry.lane, SERVICES[entry.line_item].event_type)
        return None if unit is None else unit * entry.value_paid

    def _billed(self, start: date, end: date) -> Iterator[tuple[Entry, Decimal]]:
        for year, month in months(start, end):
            for entry in self.entries(year, month):
                cost = self.cost(entry)
                if cost is not None:
                    yield entry, cost

    def total(self, start: date, end: date) -> Decimal:
        """What the whole months overlapping ``start``..``end`` cost (priced usage only)."""
        return sum((cost for _, cost in self._billed(start, end)), Decimal(0))

    def by_model(self, start: date, end: date) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for entry, cost in self._billed(start, end):
            out[entry.model] += cost
        return dict(out)

    def by_line_item(self, start: date, end: date) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for entry, cost in self._billed(start, end):
            out[entry.line_item] += cost
        return dict(out)

    def unpriced_units(self, start: date, end: date) -> dict[str, int]:
        """Units per lane of the model that has no price."""
        out: dict[str, int] = defaultdict(int)
        for year, month in months(start, end):
            for entry in self.entries(year, month):
                if entry.model == UNPRICED_MODEL:
                    out[entry.lane] += entry.value
        return dict(out)

    def prices(self) -> list[dict[str, Any]]:
        out = []
        for service in SERVICES.values():
            for model, lanes in service.models.items():
                for lane in lanes:
                    unit = price(self.seed, model, lane, service.event_type)
                    if unit is not None:
                        # The spec allows a number or a string: pages and seconds come as numbers here.
                        value: Any = str(unit) if "tokens" in service.event_type else float(unit)
                        out.append(
                            {
                                "event_type": service.event_type,
                                "billing_metric": model,
                                "billing_group": lane,
                                "api_zone": "global",
                                "service_tier": "standard",
                                "price": value,
                            }
                        )
        return out

    def usage(self, year: int, month: int, empty: bool = False) -> dict[str, Any]:
        first, last = _month_days(year, month)
        body: dict[str, Any] = {}
        for path in EMPTY_CATEGORIES + tuple(service.path for service in SERVICES.values()):
            _place(body, path, {})
        for entry in () if empty else self.entries(year, month):
            models = _place(body, SERVICES[entry.line_item].path, {})
            models.setdefault(entry.model, {}).setdefault(entry.lane, []).append(entry.body())
        if not empty:
            body["fine_tuning"]["storage"] = {model: 1 for model in SERVICES["fine_tuning.training"].models}
        return {
            **body,
            "vibe_usage": 0,
            "date": f"{first}T00:00:00Z",
            "start_date": f"{first}T00:00:00Z",
            "end_date": f"{last}T23:59:59.999999Z",
            "previous_month": None,
            "next_month": None,
            "currency": self.currency,
            "currency_symbol": SYMBOLS.get(self.currency),
            "prices": self.prices(),
        }


def _place(body: dict[str, Any], path: tuple[str, ...], default: dict[str, Any]) -> dict[str, Any]:
    """The dict at ``path`` in ``body``, created on the way."""
    node = body
    for part in path[:-1]:
        node = node.setdefault(part, {})
    result: dict[str, Any] = node.setdefault(path[-1], default)
    return result


def _whole_number(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(422, f"Input should be a valid {name} ({low}-{high})", name)
    return int(raw)


def _authorised(request: Request, config: EmulatorConfig) -> None:
    key = request.headers.get("x-api-key") or bearer(request)
    if not key or key in config.revoked_keys or key != ADMIN_KEY:
        raise ApiError(401, "Unauthorized")


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    dataset = MistralDataset(config)

    async def usage(request: Request) -> Response:
        _authorised(request, config)
        today = dataset.today()
        month = _whole_number(request, "month", today.month, 1, 12)
        year = _whole_number(request, "year", today.year, 2000, 2100)
        zone = request.query_params.get("api_zone")
        if zone not in (None, "global", "us", "eu"):
            raise ApiError(422, "Input should be 'global', 'us' or 'eu'", "api_zone")
        elsewhere = request.query_params.get("workspace_id", WORKSPACE_ID) != WORKSPACE_ID or zone in (
            "us",
            "eu",
        )
        return JSONResponse(dataset.usage(year, month, empty=elsewhere))

    async def refuse(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(error_body(exc.status, exc.message, exc.param), exc.status)

    app = Starlette(routes=[Route(path, usage) for path in PATHS], exception_handlers={ApiError: refuse})
    return Emulator(app, config, error_body, dataset)
