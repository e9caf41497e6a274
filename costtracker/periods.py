"""Turning what users type (``2026-01``, ``2026-01-05``) into periods, with errors that name the input."""

from __future__ import annotations

import re
from datetime import date, timedelta

from costtracker.clock import today
from costtracker.errors import InvalidInput
from costtracker.sources.base import Period

MAX_RANGE_DAYS = 5 * 366


def parse_month(value: str, *, param: str = "month") -> Period:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(param, f"expected a month as YYYY-MM, got {value!r}")
    return Period.month(int(match.group(1)), int(match.group(2)))


def parse_day(value: str, *, param: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(param, f"expected a date as YYYY-MM-DD, got {value!r}") from None


def parse_range(start: str, end: str, *, max_days: int = MAX_RANGE_DAYS) -> Period:
    first, last = parse_day(start, param="start"), parse_day(end, param="end")
    if last < first:
        raise InvalidInput("end", f"end ({last}) is before start ({first})")
    if (last - first).days + 1 > max_days:
        raise InvalidInput("end", f"the range is longer than {max_days // 366} years")
    return Period(first, last)


def month_to_date(on: date | None = None) -> Period:
    day = on or today()
    return Period(day.replace(day=1), day)


def previous_month(on: date | None = None) -> Period:
    first_of_this = (on or today()).replace(day=1)
    last = first_of_this - timedelta(days=1)
    return Period.month(last.year, last.month)


def resolve(
    *,
    month: str | None = None,
    start: str | None = None,
    end: str | None = None,
    default: Period | None = None,
) -> Period:
    """A period from ``month`` or ``start``/``end`` (both inclusive), else the default (month to date)."""
    if month and (start or end):
        raise InvalidInput("month", "give either a month or a start and end, not both")
    if month:
        return parse_month(month)
    if start or end:
        if not (start and end):
            raise InvalidInput("end" if start else "start", "start and end go together")
        return parse_range(start, end)
    return default or month_to_date()
