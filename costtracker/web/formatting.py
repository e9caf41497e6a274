"""Numbers, money and dates written for a language, from exact values (Babel; never float).

Amounts arrive from the ledger as decimal strings; they are parsed with ``Decimal`` and written
with the locale's separators and currency sign. ``None`` is unknown and is written as the
caller's word for it ("no data", "no price"), never as 0.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from costtracker.clock import as_utc


class Formats:
    """One request's formats: its locale, the reporting currency and the display time zone."""

    def __init__(self, locale: str, currency: str, timezone: str = "UTC") -> None:
        self.locale = locale
        self.currency = currency
        self.zone = ZoneInfo(timezone)

    def money(self, amount: str | Decimal | None, unknown: str = "—") -> str:
        if amount is None or amount == "":
            return unknown
        return str(format_currency(Decimal(amount), self.currency, locale=self.locale))

    def number(self, value: int | str | Decimal | None) -> str:
        if value is None or value == "":
            return "—"
        return str(format_decimal(Decimal(value), locale=self.locale))

    def share(self, part: str | Decimal | None, whole: str | Decimal | None) -> str:
        """``part`` as a percentage of ``whole`` (one decimal), or "" when it cannot be said."""
        if part is None or whole is None or Decimal(whole) <= 0:
            return ""
        ratio = Decimal(part) / Decimal(whole) * 100
        return str(format_decimal(ratio, format="#,##0.0", locale=self.locale)) + " %"

    def day(self, value: str | date | None, style: str = "medium") -> str:
        if not value:
            return "—"
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return str(format_date(day, style, locale=self.locale))

    def moment(self, value: str | datetime | None) -> str:
        """A time of collection, in the configured time zone, with that zone named."""
        if not value:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = as_utc(moment).astimezone(self.zone)
        return str(format_datetime(local, "medium", locale=self.locale)) + f" {self.zone.key}"

    def range(self, start: str, end: str) -> str:
        return f"{self.day(start)} – {self.day(end)}"
