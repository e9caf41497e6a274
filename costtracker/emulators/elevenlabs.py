"""ElevenLabs offline: ``GET /v1/user/subscription`` and ``GET /v1/usage/character-stats``.

Shapes follow ``elevenlabs/elevenlabs-python`` (``types/subscription.py``, ``usage/raw_client.py``)
and the OpenAPI spec of ``elevenlabs/elevenlabs-docs``: the key goes in ``xi-api-key``; the usage
time axis is Unix **milliseconds** (its first entry is the requested start, unaligned, as in the
spec's example) while the subscription's ``next_character_count_reset_unix`` is Unix **seconds**;
``current_overage.amount`` is a string and invoices are integer cents. Validation errors are
FastAPI-shaped 422s (``{"detail": [{"loc", "msg", "type"}]}``); other errors
``{"detail": {"status", "message"}}`` (ElevenLabs help centre, "API - Error Code 400 or 401").
Neither endpoint pages, so ``EmulatorConfig.page_size`` has no effect here.

Usage is generated per UTC day and model for any date (none after ``today``); credits are the
characters times the model's credit rate. The credit cycle renews on ``anchor_day`` of each
month; ``character_count`` is what the current cycle used so far, and usage beyond the quota is
priced as overage at the tier's rate. Only ``aggregation_interval=day`` with ``breakdown_type``
``none`` or ``model`` and ``metric`` ``credits`` or ``tts_characters`` are served.

Knobs in ``EmulatorConfig.extra``: ``tier`` ("creator"), ``today`` (a date, default the clock's),
``anchor_day`` (17), ``volume`` (1: multiplies the characters; 3 pushes "creator" into overage).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from costtracker.clock import today as clock_today
from costtracker.emulators.base import Emulator, EmulatorConfig, rng

DEMO_KEY = "sk_demo_elevenlabs_5c1e9a7d3b2f40862e"
DEMO_ENV = {"ELEVENLABS_API_KEY": DEMO_KEY}

CREDIT_RATES = {  # credits per character
    "eleven_multilingual_v2": Decimal(1),
    "eleven_v3": Decimal(1),
    "eleven_flash_v2_5": Decimal("0.5"),
    "eleven_turbo_v2_5": Decimal("0.5"),
}
TIER_CREDITS = {
    "free": 10_000,
    "starter": 30_000,
    "creator": 100_000,
    "pro": 500_000,
    "scale": 2_000_000,
    "business": 11_000_000,
    "enterprise": 50_000_000,
}
OVERAGE_PER_CREDIT = {
    "creator": Decimal("0.00030"),
    "pro": Decimal("0.00024"),
    "scale": Decimal("0.00018"),
    "business": Decimal("0.00012"),
}
RESET_TIME = time(14, 27, 6)  # resets happen at an arbitrary second of the day
BREAKDOWNS = (
    "none",
    "voice",
    "voice_multiplier",
    "user",
    "groups",
    "api_keys",
    "all_api_keys",
    "product_type",
    "model",
    "resource",
    "request_queue",
    "region",
    "subresource_id",
    "reporting_workspace_id",
    "has_api_key",
    "request_source",
)
METRICS = (
    "credits",
    "tts_characters",
    "minutes_used",
    "request_count",
    "ttfb_avg",
    "ttfb_p95",
    "fiat_units_spent",
    "concurrency",
    "concurrency_average",
)
INTERVALS = ("hour", "day", "week", "month", "cumulative")


def shift_month(day: date, months: int, anchor: int) -> date:
    """``day`` moved by whole months, on the ``anchor`` day of the month (clamped to its length)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def epoch_ms(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp()) * 1000


@dataclass(frozen=True)
class ElevenLabsData:
    """The deterministic data set, with the exact figures tests compare against."""

    seed: int
    tier: str
    today: date
    anchor_day: int = 17
    volume: int = 1

    def usage(self, day: date) -> dict[str, tuple[int, Decimal]]:
        """Model -> (characters, credits) used that day; models not used are absent."""
        if day > self.today:
            return {}
        generator = rng(self.seed, "elevenlabs", day.isoformat())
        used: dict[str, tuple[int, Decimal]] = {}
        for model, rate in CREDIT_RATES.items():
            if generator.random() < 0.2:
                continue
            characters = generator.randrange(1, 900 * self.volume) * 2  # even: whole credits
            used[model] = (characters, characters * rate)
        return used

    def days(self, start: date, end: date) -> list[date]:
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]

    def credits(self, start: date, end: date, model: str | None = None) -> Decimal:
        return sum(
            (
                c
                for day in self.days(start, end)
                for m, (_, c) in self.usage(day).items()
                if model in (None, m)
            ),
            Decimal(0),
        )

    def characters(self, start: date, end: date, model: str | None = None) -> int:
        return sum(
            n for day in self.days(start, end) for m, (n, _) in self.usage(day).items() if model in (None, m)
        )

    @property
    def limit(self) -> int:
        return TIER_CREDITS.get(self.tier, 100_000)

    @property
    def cycle(self) -> tuple[date, date]:
        """(first day of the current credit cycle, day of the next reset)."""
        this_month = shift_month(self.today, 0, self.anchor_day)
        if self.today >= this_month:
            return this_month, shift_month(self.today, 1, self.anchor_day)
        return shift_month(self.today, -1, self.anchor_day), this_month

    @property
    def character_count(self) -> int:
        start, _ = self.cycle
        return int(self.credits(start, self.today))

    @property
    def overage(self) -> Decimal:
        excess = max(0, self.character_count - self.limit)
        return excess * OVERAGE_PER_CREDIT.get(self.tier, Decimal(0))

    def subscription(self) -> dict[str, Any]:
        reset = datetime.combine(self.cycle[1], RESET_TIME, tzinfo=UTC)
        price_cents = {"starter": 500, "creator": 2200, "pro": 9900, "scale": 33000}.get(self.tier, 0)
        invoice = {
            "amount_due_cents": price_cents + int(self.overage * 100),
            "subtotal_cents": price_cents,
            "tax_cents": 0,
            "discounts": [],
            "next_payment_attempt_unix": int(reset.timestamp()),
            "payment_intent_statusses": [],
        }
        return {
            "tier": self.tier,
            "character_count": self.character_count,
            "character_limit": self.limit,
            "max_character_limit_extension": None,
            "max_credit_limit_extension": "unlimited" if self.tier in OVERAGE_PER_CREDIT else 0,
            "can_extend_character_limit": self.tier in OVERAGE_PER_CREDIT,
            "allowed_to_extend_character_limit": self.tier in OVERAGE_PER_CREDIT,
            "next_character_count_reset_unix": int(reset.timestamp()),  # seconds, not milliseconds
            "voice_slots_used": 3,
            "professional_voice_slots_used": 1,
            "professional_voice_slots_used_in_workspace": 1,
            "voice_limit": 30,
            "max_voice_add_edits": 95,
            "voice_add_edit_counter": 4,
            "professional_voice_limit": 1,
            "can_extend_voice_limit": False,
            "can_use_instant_voice_cloning": True,
            "can_use_professional_voice_cloning": True,
            "currency": "usd",
            "current_overage": {"amount": str(self.overage), "currency": "usd"},
            "status": "free" if self.tier == "free" else "active",
            "billing_period": "monthly_period",
            "character_refresh_period": "monthly_period",
            "next_invoice": invoice,
            "open_invoices": [],
            "has_open_invoices": False,
            "pending_change": None,
        }


def error_body(status: int, message: str) -> dict[str, Any]:
    code = {401: "invalid_api_key", 429: "too_many_concurrent_requests", 400: "invalid_request"}
    return {"detail": {"status": code.get(status, "internal_error"), "message": message}}


def validation_error(field: str, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["query", field], "msg": message, "type": kind}]}, 422)


def refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse(error_body(status, message), status)


class ElevenLabsApp:
    def __init__(self, config: EmulatorConfig, data: ElevenLabsData) -> None:
        self.config = config
        self.data = data

    def authenticate(self, request: Request) -> JSONResponse | None:
        key = request.headers.get("xi-api-key")
        if not key or key in self.config.revoked_keys:
            return refuse(401, "Invalid API key")
        return None

    async def subscription(self, request: Request) -> JSONResponse:
        return self.authenticate(request) or JSONResponse(self.data.subscription())

    async def character_stats(self, request: Request) -> JSONResponse:
        refused = self.authenticate(request)
        if refused:
            return refused
        query = request.query_params
        bounds = []
        for name in ("start_unix", "end_unix"):
            if name not in query:
                return validation_error(name, "field required", "value_error.missing")
            if not query[name].lstrip("-").isdigit():
                return validation_error(name, "value is not a valid integer", "type_error.integer")
            bounds.append(int(query[name]))
        choices = {
            "breakdown_type": ("none", BREAKDOWNS),
            "metric": ("credits", METRICS),
            "aggregation_interval": ("day", INTERVALS),
        }
        chosen: dict[str, str] = {}
        for name, (default, allowed) in choices.items():
            chosen[name] = query.get(name, default)
            if chosen[name] not in allowed:
                return validation_error(name, "value is not a valid enumeration member", "type_error.enum")
        return self.series(bounds[0], bounds[1], chosen)

    def series(self, start_ms: int, end_ms: int, chosen: dict[str, str]) -> JSONResponse:
        if end_ms < start_ms:
            return refuse(400, "end_unix must not be before start_unix")
        served = (
            chosen["aggregation_interval"] == "day"
            and chosen["breakdown_type"] in ("none", "model")
            and chosen["metric"] in ("credits", "tts_characters")
        )
        if not served:
            return refuse(400, "this emulator serves daily credits or tts_characters, by model or in total")
        first = datetime.fromtimestamp(start_ms // 1000, UTC).date()
        days = self.data.days(first, datetime.fromtimestamp(end_ms // 1000, UTC).date())
        index = 1 if chosen["metric"] == "credits" else 0
        usage: dict[str, list[float]] = {}
        for position, day in enumerate(days):
            for model, figures in self.data.usage(day).items():
                usage.setdefault(model, [0.0] * len(days))[position] = float(figures[index])
        if chosen["breakdown_type"] == "none":
            usage = {
                "All": [sum(values) for values in zip(*usage.values(), strict=True)] or [0.0] * len(days)
            }
        times = [start_ms] + [epoch_ms(day) for day in days[1:]]
        return JSONResponse({"time": times, "usage": usage})


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    extra = config.extra
    data = ElevenLabsData(
        seed=config.seed,
        tier=str(extra.get("tier", "creator")),
        today=extra.get("today") or clock_today(),
        anchor_day=int(extra.get("anchor_day", 17)),
        volume=int(extra.get("volume", 1)),
    )
    app = ElevenLabsApp(config, data)
    routes = [
        Route("/v1/user/subscription", app.subscription),
        Route("/v1/usage/character-stats", app.character_stats),
    ]
    return Emulator(Starlette(routes=routes), config, error_body, data)
