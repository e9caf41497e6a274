"""Price tables: what usage would cost when a provider does not bill it through an API.

Token prices come from ``genai-prices`` (pinned, used offline, never auto-updated); its version
is recorded on every estimated line. What it lacks (characters, audio seconds, credits) comes
from our own dated file ``costtracker/data/unit_prices.toml``, each price with its source URL
and start date. No price means no estimate: callers then write an ``unpriced`` line that keeps
the usage, never a zero.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

GENAI_PRICES = "genai-prices"
UNIT_PRICES = "costtracker-unit-prices"
UNIT_PRICES_FILE = Path(__file__).parent / "data" / "unit_prices.toml"


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0  # all input tokens, cached ones included
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # 5-minute (default) cache writes
    cache_write_1h_tokens: int = 0


@dataclass(frozen=True)
class Estimate:
    amount: Decimal
    currency: str
    table: str
    version: str


@lru_cache(maxsize=1)  # reading package metadata costs ~0.6 ms; estimates call this per line
def genai_prices_version() -> str:
    return version("genai-prices")


def estimate_tokens(provider_id: str, model: str, usage: TokenUsage, when: date) -> Estimate | None:
    """Price token usage with genai-prices; None when the model (or provider) is unknown to it."""
    from genai_prices import Usage, calc_price

    genai_usage = Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens or None,
        cache_write_tokens=(usage.cache_write_tokens + usage.cache_write_1h_tokens) or None,
        # the 1-hour share of those writes, priced at its own rate where the table has one
        cache_write_1h_tokens=usage.cache_write_1h_tokens or None,
    )
    try:
        result = calc_price(
            genai_usage,
            model,
            provider_id=provider_id,
            genai_request_timestamp=datetime.combine(when, time(12), tzinfo=UTC),
        )
    except LookupError:
        return None
    return Estimate(Decimal(result.total_price), "USD", GENAI_PRICES, genai_prices_version())


@dataclass(frozen=True)
class UnitPrice:
    provider: str
    sku: str
    unit: str
    price: Decimal
    currency: str
    source: str
    start: date


@lru_cache(maxsize=1)
def unit_prices() -> tuple[UnitPrice, ...]:
    """Our own dated prices, validated when first read."""
    if not UNIT_PRICES_FILE.exists():
        return ()
    data: dict[str, Any] = tomllib.loads(UNIT_PRICES_FILE.read_text(encoding="utf-8"))
    prices = []
    for entry in data.get("price", []):
        prices.append(
            UnitPrice(
                provider=entry["provider"],
                sku=entry["sku"],
                unit=entry["unit"],
                price=Decimal(str(entry["price"])),
                currency=entry.get("currency", "USD"),
                source=entry["source"],
                start=date.fromisoformat(str(entry["start"])),
            )
        )
    return tuple(prices)


def unit_prices_version() -> str:
    data: dict[str, Any] = (
        tomllib.loads(UNIT_PRICES_FILE.read_text(encoding="utf-8")) if UNIT_PRICES_FILE.exists() else {}
    )
    return str(data.get("version", "none"))


def unit_price(provider: str, sku: str, when: date) -> UnitPrice | None:
    """The price in force on ``when`` (the latest start date not after it)."""
    candidates = [p for p in unit_prices() if p.provider == provider and p.sku == sku and p.start <= when]
    return max(candidates, key=lambda p: p.start, default=None)


def estimate_units(provider: str, sku: str, quantity: Decimal, when: date) -> Estimate | None:
    """``quantity`` units (characters, audio seconds, credits...) at our dated price; None if unknown."""
    price = unit_price(provider, sku, when)
    if price is None:
        return None
    return Estimate(price.price * quantity, price.currency, UNIT_PRICES, unit_prices_version())
