"""Deepgram's Management API offline: projects, balances, billing and usage breakdowns.

Serves ``/v1/projects``, ``/v1/projects/{id}/balances``, ``/v1/projects/{id}/billing/breakdown``
and ``/v1/projects/{id}/usage/breakdown`` as ``deepgram/deepgram-python-sdk`` v7 and
developers.deepgram.com document them: ``Authorization: Token <key>``; ``start``/``end`` as
``YYYY-MM-DD`` (both days included here; the real bound is not documented); one result per day
and group with ``dollars`` as a JSON number; billing ``grouping`` is an array sent as
``k=a&k=b`` or ``k[]=a``, usage ``grouping`` a single value. Errors use the legacy body
``{err_code, err_msg, request_id}`` (the one Deepgram answers a bad key with). None of these
endpoints pages, so ``EmulatorConfig.page_size`` has no effect here.

Every project bills a few line items (``<method>::<model>``) per UTC day for any date (none
after ``today``); dollars are the usage times the emulator's own rates, rounded to 10^-9, so the
data set states exact totals. The usage breakdown names models as ``Nova-3`` where line items
say ``nova-3``. Only usage ``grouping=models`` (or none) is served.

Knobs in ``EmulatorConfig.extra``: ``today`` (a date, default the clock's), ``unknown_model``
(True: a billed line item ``streaming::nova-99-lab`` on every day), ``unbilled_usage`` (True:
usage of ``Nova-3-Medical`` that no line item bills).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from costtracker.clock import today as clock_today
from costtracker.emulators.base import Emulator, EmulatorConfig, bearer, money, query_list, rng

DEMO_KEY = "dg_demo_5f0c3a9e7b1d42c88a6e4f2b0d9c7a15e3b1f086"
DEMO_ENV = {"DEEPGRAM_API_KEY": DEMO_KEY}

PROJECT_NAMES = ("Production", "Staging", "Research")
RATES = {  # USD per audio hour, per TTS character for tts::, per agent hour for agent::
    "streaming::nova-3": Decimal("0.462"),
    "prerecorded::nova-3": Decimal("0.258"),
    "prerecorded::whisper-large": Decimal("0.288"),
    "tts::aura-2": Decimal("0.00003"),
    "agent::voice-agent-standard": Decimal("4.5"),
}
UNKNOWN_LINE_ITEM = "streaming::nova-99-lab"
UNBILLED_MODEL = "Nova-3-Medical"
NANO = Decimal("1e-9")
BILLING_GROUPINGS = ("accessor", "deployment", "line_item", "tags")
USAGE_GROUPINGS = ("accessor", "endpoint", "feature_set", "models", "method", "tags", "deployment")
USAGE_FIELDS = (
    "hours",
    "total_hours",
    "agent_hours",
    "tokens_in",
    "tokens_out",
    "tts_characters",
    "requests",
)


def display_model(line_item: str) -> str:
    """``streaming::nova-3`` -> ``Nova-3``, as the usage breakdown names models."""
    return "-".join(part.capitalize() for part in line_item.rpartition("::")[2].split("-"))


@dataclass(frozen=True)
class Line:
    """One line item of one project on one day: its money and the usage behind it."""

    line_item: str
    dollars: Decimal
    hours: Decimal = Decimal(0)
    agent_hours: Decimal = Decimal(0)
    tts_characters: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    requests: int = 0

    @property
    def model(self) -> str:
        return self.line_item.rpartition("::")[2]


def make_line(line_item: str, generator: Any) -> Line:
    method, rate = line_item.partition("::")[0], RATES.get(line_item, Decimal("0.5"))
    requests = generator.randrange(1, 4000)
    if method == "tts":
        characters = generator.randrange(1_000, 400_000)
        return Line(line_item, characters * rate, tts_characters=characters, requests=requests)
    hours = money(generator, 0, 40, places=6)
    if method == "agent":
        tokens = generator.randrange(10_000, 900_000)
        return Line(
            line_item,
            (hours * rate).quantize(NANO),
            agent_hours=hours,
            tokens_in=tokens,
            tokens_out=tokens // 4,
            requests=requests,
        )
    return Line(line_item, (hours * rate).quantize(NANO), hours=hours, requests=requests)


@dataclass(frozen=True)
class DeepgramData:
    """The deterministic data set, with the exact totals tests compare against."""

    seed: int
    today: date
    unknown_model: bool = False
    unbilled_usage: bool = False

    @property
    def projects(self) -> dict[str, str]:
        """Project id -> name."""
        return {
            str(uuid.UUID(bytes=hashlib.sha256(f"{self.seed}:{name}".encode()).digest()[:16])): name
            for name in PROJECT_NAMES
        }

    def lines(self, project: str, day: date) -> list[Line]:
        if day > self.today or project not in self.projects:
            return []
        generator = rng(self.seed, "deepgram", project, day.isoformat())
        items = [item for item in RATES if generator.random() < 0.75]
        if self.unknown_model:
            items.append(UNKNOWN_LINE_ITEM)
        return [make_line(item, generator) for item in items]

    def unbilled(self, project: str, day: date) -> Line | None:
        """Usage that no line item bills (``unbilled_usage``)."""
        if not self.unbilled_usage or day > self.today:
            return None
        return Line(f"beta::{UNBILLED_MODEL.lower()}", Decimal(0), hours=Decimal("1.25"), requests=3)

    def days(self, start: date, end: date) -> list[date]:
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]

    def all_lines(self, start: date, end: date, project: str | None = None) -> list[tuple[str, date, Line]]:
        return [
            (p, day, line)
            for p in self.projects
            if project in (None, p)
            for day in self.days(start, end)
            for line in self.lines(p, day)
        ]

    def total(
        self, start: date, end: date, *, project: str | None = None, model: str | None = None
    ) -> Decimal:
        """Billed dollars, overall or for one project and/or one model (``nova-3``)."""
        return sum(
            (
                line.dollars
                for _, _, line in self.all_lines(start, end, project)
                if model in (None, line.model)
            ),
            Decimal(0),
        )

    def hours(self, start: date, end: date, *, model: str | None = None) -> Decimal:
        return sum(
            (line.hours for _, _, line in self.all_lines(start, end) if model in (None, line.model)),
            Decimal(0),
        )

    def requests(self, start: date, end: date) -> int:
        return sum(line.requests for _, _, line in self.all_lines(start, end))

    def balance(self, project: str) -> Decimal:
        return money(rng(self.seed, "deepgram-balance", project), 20, 800, places=4)


def error_body(status: int, message: str) -> dict[str, Any]:
    codes = {400: "BAD_REQUEST", 401: "INVALID_AUTH", 404: "NOT_FOUND", 429: "TOO_MANY_REQUESTS"}
    return {
        "err_code": codes.get(status, "INTERNAL_SERVER_ERROR"),
        "err_msg": message,
        "request_id": str(uuid.uuid4()),
    }


def refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse(error_body(status, message), status)


class DeepgramApp:
    def __init__(self, config: EmulatorConfig, data: DeepgramData) -> None:
        self.config = config
        self.data = data

    def check(self, request: Request) -> JSONResponse | None:
        key = bearer(request, scheme="Token")
        if not key or key in self.config.revoked_keys:
            return refuse(401, "Invalid credentials.")
        project = request.path_params.get("project_id")
        if project is not None and project not in self.data.projects:
            return refuse(404, f"Project {project} not found.")
        return None

    def period(self, request: Request) -> tuple[date, date] | JSONResponse:
        today = self.data.today
        bounds = []
        for name, default in (("start", today - timedelta(days=7)), ("end", today)):
            text = request.query_params.get(name)
            try:
                bounds.append(date.fromisoformat(text) if text else default)
            except ValueError:
                return refuse(400, f"Invalid {name} date {text!r}: expected YYYY-MM-DD.")
        if bounds[1] < bounds[0]:
            return refuse(400, "end is before start.")
        return bounds[0], bounds[1]

    async def projects(self, request: Request) -> JSONResponse:
        projects = [{"project_id": pid, "name": name} for pid, name in self.data.projects.items()]
        return self.check(request) or JSONResponse({"projects": projects})

    async def balances(self, request: Request) -> JSONResponse:
        refused = self.check(request)
        if refused:
            return refused
        project = request.path_params["project_id"]
        balance = {
            "balance_id": str(uuid.uuid5(uuid.NAMESPACE_URL, project)),
            "units": "USD",
            "amount": float(self.data.balance(project)),
            "purchase_order_id": f"po-{project[:8]}",
        }
        return JSONResponse({"balances": [balance]})

    async def billing(self, request: Request) -> JSONResponse:
        period = self.check(request) or self.period(request)
        if isinstance(period, JSONResponse):
            return period
        grouping = query_list(request, "grouping")
        if any(group not in BILLING_GROUPINGS for group in grouping):
            return refuse(
                400, f"Invalid grouping {grouping}: expected any of {', '.join(BILLING_GROUPINGS)}."
            )
        project = request.path_params["project_id"]
        results = [
            billing_result(project, day, lines, grouping)
            for day in self.data.days(*period)
            for lines in split(self.data.lines(project, day), grouping)
        ]
        return JSONResponse(envelope(period, results))

    async def usage(self, request: Request) -> JSONResponse:
        period = self.check(request) or self.period(request)
        if isinstance(period, JSONResponse):
            return period
        grouping = query_list(request, "grouping")
        if len(grouping) > 1 or any(group not in USAGE_GROUPINGS for group in grouping):
            return refuse(400, f"Invalid grouping {grouping}: expected one of {', '.join(USAGE_GROUPINGS)}.")
        if grouping not in ([], ["models"]):
            return refuse(400, "this emulator serves usage grouped by models, or not grouped")
        project = request.path_params["project_id"]
        results = []
        for day in self.data.days(*period):
            lines = self.data.lines(project, day) + [u for u in [self.data.unbilled(project, day)] if u]
            for group in by_model(lines) if grouping else [lines] if lines else []:
                results.append(usage_result(day, group, bool(grouping)))
        return JSONResponse(envelope(period, results))


def split(lines: list[Line], grouping: list[str]) -> list[list[Line]]:
    if "line_item" in grouping:
        return [[line] for line in lines]
    return [lines] if lines else []


def by_model(lines: list[Line]) -> list[list[Line]]:
    models: dict[str, list[Line]] = {}
    for line in lines:
        models.setdefault(display_model(line.line_item), []).append(line)
    return list(models.values())


def envelope(period: tuple[date, date], results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "start": period[0].isoformat(),
        "end": period[1].isoformat(),
        "resolution": {"units": "day", "amount": 1},
        "results": results,
    }


def billing_result(project: str, day: date, lines: list[Line], grouping: list[str]) -> dict[str, Any]:
    dollars = sum((line.dollars for line in lines), Decimal(0))
    return {
        "dollars": float(dollars),
        "grouping": {
            "start": day.isoformat(),
            "end": day.isoformat(),
            "accessor": project[-24:].replace("-", "") if "accessor" in grouping else None,
            "deployment": "hosted" if "deployment" in grouping else None,
            "line_item": lines[0].line_item if "line_item" in grouping else None,
            "tags": [] if "tags" in grouping else None,
        },
    }


def usage_result(day: date, lines: list[Line], grouped: bool) -> dict[str, Any]:
    sums = {
        name: sum((Decimal(getattr(line, name)) for line in lines), Decimal(0)) for name in USAGE_FIELDS[2:]
    }
    sums["hours"] = sum((line.hours for line in lines), Decimal(0))
    sums["total_hours"] = sums["hours"] + sums["agent_hours"]
    result: dict[str, Any] = {name: float(value) for name, value in sums.items()}  # JSON numbers, exact
    models = [display_model(lines[0].line_item)] if grouped else None
    result["grouping"] = {
        "start": day.isoformat(),
        "end": day.isoformat(),
        "accessor": None,
        "endpoint": None,
        "feature_set": None,
        "models": models,
        "method": None,
        "tags": None,
        "deployment": None,
    }
    return result


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    extra = config.extra
    data = DeepgramData(
        seed=config.seed,
        today=extra.get("today") or clock_today(),
        unknown_model=bool(extra.get("unknown_model")),
        unbilled_usage=bool(extra.get("unbilled_usage")),
    )
    app = DeepgramApp(config, data)
    routes = [
        Route("/v1/projects", app.projects),
        Route("/v1/projects/{project_id}/balances", app.balances),
        Route("/v1/projects/{project_id}/billing/breakdown", app.billing),
        Route("/v1/projects/{project_id}/usage/breakdown", app.usage),
    ]
    return Emulator(Starlette(routes=routes), config, error_body, data)
