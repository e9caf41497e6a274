"""The explorer's period presets, resolved on the server (its UTC "today", not the browser's)."""

from __future__ import annotations

from datetime import date, timedelta

from costtracker.clock import today
from costtracker.errors import InvalidInput
from costtracker.sources.base import Period

PRESETS = ("this-week", "this-month", "last-month", "this-year")


def preset_period(name: str, on: date | None = None) -> Period:
    """Whole calendar periods: the week (Monday to Sunday), the month, last month, the year."""
    day = on or today()
    if name == "this-week":
        monday = day - timedelta(days=day.weekday())
        return Period(monday, monday + timedelta(days=6))
    if name == "this-month":
        return Period.month(day.year, day.month)
    if name == "last-month":
        previous = day.replace(day=1) - timedelta(days=1)
        return Period.month(previous.year, previous.month)
    if name == "this-year":
        return Period(date(day.year, 1, 1), date(day.year, 12, 31))
    raise InvalidInput("preset", f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
