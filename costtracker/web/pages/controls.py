"""What the overview and the explorer share: the chosen period, formats, rendering a page or
one of its result fragments (the part ``static/results.js`` reloads without leaving the page)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from costtracker.errors import InvalidInput
from costtracker.periods import resolve
from costtracker.settings import Settings
from costtracker.sources.base import Period
from costtracker.web.cache import Served
from costtracker.web.formatting import Formats
from costtracker.web.i18n import locale_of
from costtracker.web.presets import PRESETS, preset_period

DEFAULT_PRESET = "this-month"


@dataclass(frozen=True)
class Chosen:
    """The period asked for: a preset (resolved on the server) or a custom range."""

    period: Period
    preset: str | None


def choose_period(preset: str | None, start: str | None, end: str | None) -> Chosen:
    if start or end:
        return Chosen(resolve(start=start, end=end), None)
    name = preset or DEFAULT_PRESET
    return Chosen(preset_period(name), name)


def formats(request: Request, settings: Settings) -> Formats:
    return Formats(locale_of(request), settings.reporting_currency, settings.timezone)


def base_context(request: Request, settings: Settings) -> dict[str, Any]:
    return {"fmt": formats(request, settings), "presets": PRESETS, "currency": settings.reporting_currency}


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    served: Served | None = None,
    status: int = 200,
) -> HTMLResponse:
    headers = served.headers() if served else None
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status, headers=headers
    )
    return response


def attempt(compute: Any) -> tuple[Any, str | None]:
    """``compute()``, or None and the message of the bad input it met (shown in place, 400)."""
    try:
        return compute(), None
    except InvalidInput as exc:
        return None, exc.message


def chart_json(data: dict[str, Any]) -> str:
    """Chart data for a ``data-chart`` attribute (escaped by the template; no inline script)."""
    return json.dumps(data, separators=(",", ":"))
