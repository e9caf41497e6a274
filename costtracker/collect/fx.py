"""Conversion to the reporting currency, always explicit and recorded.

A line keeps its source amount and currency; ``amount_usd`` (the reporting-currency amount) is
written with the rate and where it came from. Rates come from the ``fx_rates`` table (the latest
on or before the day). A missing rate leaves the converted amount unknown and says so: it is
never guessed and never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from costtracker.clock import today
from costtracker.errors import InvalidInput
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


def record_rate(
    sessions: sessionmaker[Session],
    *,
    currency: str,
    quote: str,
    rate: str | Decimal,
    day: str | date | None = None,
    source: str = "manual",
) -> FxRate:
    """Store (or replace) the rate of ``currency`` in ``quote`` from ``day`` on."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput("currency", f"expected a three-letter code such as EUR, got {currency!r}")
    try:
        value = Decimal(str(rate))
    except InvalidOperation:
        raise InvalidInput("rate", f"expected a decimal number such as 1.0845, got {rate!r}") from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput("rate", "must be a positive number")
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise InvalidInput("date", f"expected YYYY-MM-DD, got {day!r}") from None
    when = day or today()
    with sessions.begin() as session:
        existing = session.scalar(
            select(FxRate).where(FxRate.day == when, FxRate.currency == code, FxRate.quote == quote)
        )
        if existing is None:
            existing = FxRate(day=when, currency=code, quote=quote, rate=value, source=source)
            session.add(existing)
        else:
            existing.rate, existing.source = value, source
        return existing


def list_rates(sessions: sessionmaker[Session]) -> list[FxRate]:
    with sessions() as session:
        return list(session.scalars(select(FxRate).order_by(FxRate.day.desc(), FxRate.currency)))
