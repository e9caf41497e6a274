"""ElevenLabs: the subscription plan, priced from our table, and the credits each model used.

ElevenLabs sells a monthly quota of credits (``character_limit``) for a plan price and bills usage
beyond it as overage; no endpoint states money per day. What a month costs is the plan price,
used or not: each day carries an *estimated* ``subscription`` line, its slice of the monthly
price (the slices of a calendar month add up to the price exactly), counted in totals. Beside
it, for the per-model view, each day and model gets an *estimated* plan share that is NOT added
to totals (it shows what the usage was worth at the plan's rate)::

    credits used that day by that model x monthly plan price x refresh months / divisor

where the divisor is the quota (``character_limit``), except in the current credit cycle once it
used more than its quota: there it is what the cycle used (``character_count``), so the shares
of that cycle add up to the plan price and ElevenLabs' own ``current_overage`` (a billed line on
the cycle's first day) carries the rest. Each share is rounded to 10^-9. The usage comes from
``/v1/usage/character-stats`` (deprecated, see docs/providers/elevenlabs.md for why not its
successor) in Unix *milliseconds*; the cycle comes from ``next_character_count_reset_unix`` in
Unix *seconds*. A tier without a price in our table gives unpriced lines that keep the usage.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from costtracker.errors import BadResponse
from costtracker.http import RateLimit
from costtracker.prices import UNIT_PRICES, UnitPrice, unit_price, unit_prices_version
from costtracker.settings import Settings
from costtracker.sources.base import (
    AccountInfo,
    Collection,
    CostRecord,
    Credential,
    Discovery,
    Period,
    Source,
)
from costtracker.store.models import Provenance
from costtracker.store.types import quantize_money

T = TypeVar("T")
ZERO = Decimal(0)
ACCOUNT = "default"  # one key sees one workspace; the API names no workspace id
PLAN_SHARE = "plan share"
SUBSCRIPTION = "subscription"
REFRESH_MONTHS = {"monthly_period": 1, "3_month_period": 3, "6_month_period": 6, "annual_period": 12}
USAGE_QUERY = {"include_workspace_metrics": "true", "breakdown_type": "model", "aggregation_interval": "day"}


def shift_month(day: date, months: int, anchor: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000


@dataclass(frozen=True)
class Plan:
    """What ``GET /v1/user/subscription`` says about the plan and the current credit cycle."""

    tier: str
    limit: int
    used: int
    months: int
    reset: date | None  # the day the current cycle ends (exclusive)
    overage: Decimal
    overage_currency: str
    raw: dict[str, Any]

    @property
    def cycle_start(self) -> date | None:
        return shift_month(self.reset, -self.months, self.reset.day) if self.reset else None

    def divisor(self, day: date) -> int:
        current = (
            self.reset is not None and self.cycle_start is not None and self.cycle_start <= day < self.reset
        )
        return max(self.limit, self.used) if current else self.limit


class ElevenLabsSource(Source):
    key = "elevenlabs"
    display_name = "ElevenLabs"
    kind = "llm"
    console_url = "https://elevenlabs.io/app/settings/api-keys"
    has_workspaces = False
    # ElevenLabs publishes generation concurrency limits only, none for these account endpoints;
    # a collect makes three requests, so two at a time and five a second is gentle.
    rate_limit = RateLimit(concurrency=2, per_second=5.0)
    settings_keys = ("ELEVENLABS_API_KEY",)

    @classmethod
    def credentials(cls, settings: Settings) -> list[Credential]:
        key = settings.elevenlabs_api_key
        return [Credential("default", key)] if key is not None and key.get_secret_value() else []

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        return {"xi-api-key": credential.secret.get_secret_value()}

    async def discover(self, credential: Credential) -> Discovery:
        plan = await self.plan(credential)
        return Discovery([AccountInfo(ACCOUNT, f"ElevenLabs ({plan.tier})", meta=account_meta(plan))])

    async def collect(self, credential: Credential, period: Period) -> Collection:
        plan = await self.plan(credential)
        credits = await self.usage(credential, period, "credits")
        characters = await self.usage(credential, period, "tts_characters")
        records = [
            self.plan_share(
                plan, day, model, credits.get((day, model), ZERO), characters.get((day, model), ZERO)
            )
            for day, model in sorted(credits.keys() | characters.keys())
        ]
        records += [subscription_line(plan, day) for day in period.days()]
        if plan.cycle_start and period.start <= plan.cycle_start <= period.end:
            records.append(overage_line(plan))
        notes = []
        if unit_price(self.key, f"plan:{plan.tier}", period.end) is None:
            notes.append(
                f"ElevenLabs tier {plan.tier!r} has no price in {UNIT_PRICES}: its lines are unpriced"
            )
        return Collection(records, notes=notes)

    async def plan(self, credential: Credential) -> Plan:
        path = "/v1/user/subscription"
        body = await self.get(credential, path)
        return self.parsed(credential, path, lambda: parse_plan(body))

    async def usage(
        self, credential: Credential, period: Period, metric: str
    ) -> dict[tuple[date, str], Decimal]:
        """Daily ``metric`` per model; bounds in milliseconds, the last one at 23:59:59.999."""
        path = "/v1/usage/character-stats"
        end_ms = epoch_ms(period.end_exclusive) - 1
        params = {
            "start_unix": epoch_ms(period.start_datetime),
            "end_unix": end_ms,
            **USAGE_QUERY,
            "metric": metric,
        }
        body = await self.get(credential, path, params)
        return self.parsed(credential, path, lambda: parse_series(body, period))

    def parsed(self, credential: Credential, path: str, read: Callable[[], T]) -> T:
        try:
            return read()
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError, OverflowError):
            raise BadResponse(
                self.key, f"answered {path} with an unexpected shape", account=credential.label
            ) from None

    def plan_share(
        self, plan: Plan, day: date, model: str, credits: Decimal, characters: Decimal
    ) -> CostRecord:
        price = unit_price(self.key, f"plan:{plan.tier}", day)
        raw = {
            "day": day.isoformat(),
            "model": model,
            "credits": str(credits),
            "tts_characters": str(characters),
            "tier": plan.tier,
            "character_limit": plan.limit,
            "divisor": plan.divisor(day),
        }
        record = CostRecord(
            day=day,
            account=ACCOUNT,
            provenance=Provenance.UNPRICED,
            amount=None,
            model=model,
            line_item=PLAN_SHARE,
            characters=int(characters),
            usage_extra={"credits": str(credits)},
            raw=raw,
            in_total=False,  # the subscription line carries the money actually paid
        )
        if price is not None and plan.limit > 0:
            price_share(record, price, credits * price.price * plan.months / plan.divisor(day))
        return record


def price_share(record: CostRecord, price: UnitPrice, amount: Decimal) -> None:
    record.provenance = Provenance.ESTIMATED
    record.amount = quantize_money(amount)
    record.currency = price.currency
    record.price_table = UNIT_PRICES
    record.price_table_version = unit_prices_version()
    record.raw["monthly_price"] = str(price.price)
    record.raw["price_source"] = price.source


def subscription_day(monthly: Decimal, day: date) -> Decimal:
    """The day's slice of a monthly price; the slices of a calendar month add up to it exactly."""
    days = calendar.monthrange(day.year, day.month)[1]
    return quantize_money(monthly * day.day / days) - quantize_money(monthly * (day.day - 1) / days)


def subscription_line(plan: Plan, day: date) -> CostRecord:
    """What the plan costs that day, used or not: the money a month of ElevenLabs really takes."""
    price = unit_price(ElevenLabsSource.key, f"plan:{plan.tier}", day)
    record = CostRecord(
        day=day,
        account=ACCOUNT,
        provenance=Provenance.UNPRICED,
        amount=None,
        line_item=f"{SUBSCRIPTION} ({plan.tier})",
        raw={"tier": plan.tier, "day": day.isoformat()},
    )
    if price is not None:
        price_share(record, price, subscription_day(price.price, day))
    return record


def overage_line(plan: Plan) -> CostRecord:
    assert plan.cycle_start is not None
    return CostRecord(
        day=plan.cycle_start,
        account=ACCOUNT,
        provenance=Provenance.BILLED,
        amount=plan.overage,
        currency=plan.overage_currency,
        line_item="overage",
        raw={
            "current_overage": plan.raw.get("current_overage"),
            "next_character_count_reset_unix": plan.raw.get("next_character_count_reset_unix"),
        },
    )


def parse_plan(body: dict[str, Any]) -> Plan:
    reset_seconds = body.get("next_character_count_reset_unix")
    reset = datetime.fromtimestamp(int(reset_seconds), UTC).date() if reset_seconds else None
    overage = body.get("current_overage") or {"amount": "0", "currency": body.get("currency") or "usd"}
    return Plan(
        tier=str(body["tier"]),
        limit=int(body["character_limit"]),
        used=int(body["character_count"]),
        months=REFRESH_MONTHS.get(body.get("character_refresh_period") or "monthly_period", 1),
        reset=reset,
        overage=Decimal(str(overage["amount"])),
        overage_currency=str(overage["currency"]).upper(),
        raw=body,
    )


def parse_series(body: dict[str, Any], period: Period) -> dict[tuple[date, str], Decimal]:
    """``{time: [ms...], usage: {model: [n...]}}`` -> {(day, model): n} within the period."""
    times = [datetime.fromtimestamp(int(ms) // 1000, UTC).date() for ms in body["time"]]
    series: dict[tuple[date, str], Decimal] = {}
    for model, values in body["usage"].items():
        for day, value in zip(times, values, strict=True):
            if value and period.start <= day <= period.end:
                series[(day, model)] = series.get((day, model), Decimal(0)) + Decimal(str(value))
    return series


def account_meta(plan: Plan) -> dict[str, Any]:
    """Quota and money facts shown with the account (strings for exact amounts)."""
    body = plan.raw
    invoice = body.get("next_invoice") or {}
    cents = invoice.get("amount_due_cents")
    reset = body.get("next_character_count_reset_unix")
    return {
        "tier": plan.tier,
        "status": body.get("status"),
        "credits_used": plan.used,
        "credits_allowed": plan.limit,
        "next_reset": datetime.fromtimestamp(int(reset), UTC).isoformat() if reset else None,
        "current_overage": str(plan.overage),
        "currency": plan.overage_currency,
        "next_invoice_amount": str(Decimal(int(cents)).scaleb(-2)) if cents is not None else None,
        "billing_period": body.get("billing_period"),
        "character_refresh_period": body.get("character_refresh_period"),
    }
