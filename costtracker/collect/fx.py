"""Conversion to the reporting currency, always explicit and recorded.

A line keeps its source amount and currency; ``amount_usd`` (the reporting-currency amount) is
written with the rate and where it came from. Rates come from the ``fx_rates`` table (the latest
on or before the day). A missing rate leaves the converted amount unknown and says so: it is
never guessed and never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from costtracker.store.models import FxRate


@dataclass(frozen=True)
class Conversion:
    amount: Decimal | None
    rate: Decimal | None
    source: str | None


class RateBook:
    """Rates looked up once per (currency, day) during a write."""

    def __init__(self, session: Session, quote: str) -> None:
        self.session = session
        self.quote = quote
        self.missing: set[tuple[str, date]] = set()
        self._cache: dict[tuple[str, date], FxRate | None] = {}

    def convert(self, amount: Decimal | None, currency: str, day: date) -> Conversion:
        if amount is None:
            return Conversion(None, None, None)
        currency = currency.upper()
        if currency == self.quote:
            return Conversion(amount, Decimal(1), "identity")
        rate = self._rate(currency, day)
        if rate is None:
            self.missing.add((currency, day))
            return Conversion(None, None, None)
        return Conversion(amount * rate.rate, rate.rate, f"{rate.source} {rate.day.isoformat()}")

    def _rate(self, currency: str, day: date) -> FxRate | None:
        key = (currency, day)
        if key not in self._cache:
            self._cache[key] = self.session.scalar(
                select(FxRate)
                .where(FxRate.currency == currency, FxRate.quote == self.quote, FxRate.day <= day)
                .order_by(FxRate.day.desc())
                .limit(1)
            )
        return self._cache[key]

    def explain_missing(self) -> str | None:
        if not self.missing:
            return None
        currencies = sorted({currency for currency, _ in self.missing})
        first = min(day for _, day in self.missing)
        return (
            f"no {'/'.join(currencies)}->{self.quote} rate on or before {first.isoformat()}: "
            f"the amounts are kept in their currency but not converted; add a rate with "
            f"`costtracker fx add`"
        )
