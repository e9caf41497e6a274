"""Deepgram: billed dollars per project, day and line item, with the usage behind them.

One key is one account ("default"); its Deepgram projects are our projects. Money comes from
``/v1/projects/{id}/billing/breakdown`` grouped by ``line_item`` (``streaming::nova-3``): it is
what Deepgram bills, so every line is ``billed`` and nothing is estimated. Usage (audio hours,
requests, TTS characters, agent tokens) comes from ``/usage/breakdown`` grouped by ``models``
and is attached to the billed line of the same day and model; usage that no line bills stays as
an ``unpriced`` line, never a zero. Balances are facts about a project (meta), not costs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from costtracker.errors import BadResponse
from costtracker.http import RateLimit
from costtracker.settings import Settings
from costtracker.sources.base import (
    AccountInfo,
    Collection,
    CostRecord,
    Credential,
    Discovery,
    Period,
    ProjectInfo,
    Source,
)
from costtracker.store.models import Provenance

ACCOUNT = "default"
T = TypeVar("T")
PARSE_ERRORS = (KeyError, TypeError, ValueError, InvalidOperation, AttributeError)


def model_of(line_item: str) -> str:
    """``streaming::nova-3`` -> ``nova-3``."""
    return line_item.rpartition("::")[2]


def exact(value: Any) -> Decimal:
    """A JSON number (or the string SDK v3 typed) as an exact Decimal."""
    return Decimal(str(value))


@dataclass
class Usage:
    """One day's usage of one model in one project."""

    model: str
    raw: dict[str, Any]

    def attach(self, record: CostRecord) -> None:
        raw = self.raw
        record.audio_seconds = exact(raw.get("hours", 0)) * 3600 or None
        record.requests = int(exact(raw.get("requests", 0)))
        record.characters = int(exact(raw.get("tts_characters", 0))) or None
        record.input_tokens = int(exact(raw.get("tokens_in", 0))) or None
        record.output_tokens = int(exact(raw.get("tokens_out", 0))) or None
        if raw.get("agent_hours"):
            record.usage_extra["agent_seconds"] = str(exact(raw["agent_hours"]) * 3600)
        record.raw["usage"] = raw


class DeepgramSource(Source):
    key = "deepgram"
    display_name = "Deepgram"
    kind = "llm"
    console_url = "https://console.deepgram.com/"
    has_workspaces = False
    # Deepgram documents concurrency limits per project for transcription, none for the
    # Management API; a collect makes 1 + 2 requests per project, so stay well below.
    rate_limit = RateLimit(concurrency=2, per_second=5.0)
    settings_keys = ("DEEPGRAM_API_KEY",)

    @classmethod
    def credentials(cls, settings: Settings) -> list[Credential]:
        key = settings.deepgram_api_key
        return [Credential("default", key)] if key is not None and key.get_secret_value() else []

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        return {"Authorization": f"Token {credential.secret.get_secret_value()}"}

    async def discover(self, credential: Credential) -> Discovery:
        found = await self.projects(credential)
        balances = await asyncio.gather(*(self.balances(credential, pid) for pid in found))
        projects = [
            ProjectInfo(ACCOUNT, pid, name, meta={"balances": balance})
            for (pid, name), balance in zip(found.items(), balances, strict=True)
        ]
        totals: dict[str, Decimal] = {}
        for project in projects:
            for balance in project.meta["balances"]:
                totals[balance["units"]] = totals.get(balance["units"], Decimal(0)) + Decimal(
                    balance["amount"]
                )
        meta = {
            "projects": len(projects),
            "balances": {units: str(amount) for units, amount in totals.items()},
        }
        return Discovery([AccountInfo(ACCOUNT, "Deepgram", meta=meta)], projects)

    async def collect(self, credential: Credential, period: Period) -> Collection:
        per_project = await asyncio.gather(
            *(
                self.project_records(credential, project, period)
                for project in await self.projects(credential)
            )
        )
        return Collection([record for records in per_project for record in records])

    async def projects(self, credential: Credential) -> dict[str, str]:
        body = await self.get(credential, "/v1/projects")
        return self.parse(
            credential,
            "/v1/projects",
            lambda: {p["project_id"]: p.get("name") or p["project_id"] for p in body["projects"]},
        )

    async def balances(self, credential: Credential, project: str) -> list[dict[str, Any]]:
        path = f"/v1/projects/{project}/balances"
        body = await self.get(credential, path)
        return self.parse(
            credential,
            path,
            lambda: [
                {
                    "balance_id": b.get("balance_id"),
                    "amount": str(exact(b.get("amount") or 0)),
                    "units": b.get("units") or "USD",
                    "purchase_order_id": b.get("purchase_order_id"),
                }
                for b in body["balances"]
            ],
        )

    async def project_records(self, credential: Credential, project: str, period: Period) -> list[CostRecord]:
        # The end bound's inclusivity is undocumented: ask one day more, keep the period's days.
        dates = [("start", period.start.isoformat()), ("end", (period.end + timedelta(days=1)).isoformat())]
        billing_path = f"/v1/projects/{project}/billing/breakdown"
        usage_path = f"/v1/projects/{project}/usage/breakdown"
        billing = await self.get(credential, billing_path, [*dates, ("grouping", "line_item")])
        usage = await self.get(credential, usage_path, [*dates, ("grouping", "models")])
        billed = self.parse(credential, billing_path, lambda: billed_lines(billing, project, period))
        used = self.parse(credential, usage_path, lambda: usage_rows(usage, period))
        return join(billed, used, project)

    def parse(self, credential: Credential, path: str, read: Callable[[], T]) -> T:
        try:
            return read()
        except PARSE_ERRORS:
            raise BadResponse(
                self.key, f"answered {path} with an unexpected shape", account=credential.label
            ) from None


def in_period(grouping: dict[str, Any], period: Period) -> date | None:
    day = date.fromisoformat(str(grouping["start"])[:10])
    return day if period.start <= day <= period.end else None


def billed_lines(body: dict[str, Any], project: str, period: Period) -> dict[tuple[date, str], CostRecord]:
    """One billed record per day and line item (results repeating a pair are summed)."""
    lines: dict[tuple[date, str], CostRecord] = {}
    for result in body["results"]:
        day = in_period(result["grouping"], period)
        if day is None:
            continue
        line_item = result["grouping"].get("line_item") or ""
        record = lines.get((day, line_item))
        if record is None:
            record = lines[(day, line_item)] = CostRecord(
                day=day,
                account=ACCOUNT,
                provenance=Provenance.BILLED,
                amount=Decimal(0),
                currency="USD",
                project=project,
                model=model_of(line_item),
                line_item=line_item,
                raw={"billing": []},
            )
        record.amount = (record.amount or Decimal(0)) + exact(result["dollars"])
        record.raw["billing"].append(result)
    return lines


def usage_rows(body: dict[str, Any], period: Period) -> dict[tuple[date, str], Usage]:
    rows: dict[tuple[date, str], Usage] = {}
    for result in body["results"]:
        day = in_period(result["grouping"], period)
        if day is not None:
            model = "+".join(sorted(str(m).lower() for m in result["grouping"].get("models") or [] if m))
            rows[(day, model)] = Usage(model, result)
    return rows


def join(
    billed: dict[tuple[date, str], CostRecord], used: dict[tuple[date, str], Usage], project: str
) -> list[CostRecord]:
    """Usage goes on the first billed line of its day and model; a model no line bills is unpriced."""
    records = sorted(billed.values(), key=lambda r: (r.day, r.line_item))
    for (day, model), usage in sorted(used.items()):
        matching = [r for r in records if r.day == day and r.model.lower() == model]
        if matching:
            usage.attach(matching[0])
            if len(matching) > 1:
                matching[0].usage_extra["usage_covers_line_items"] = [r.line_item for r in matching]
            continue
        orphan = CostRecord(
            day=day,
            account=ACCOUNT,
            provenance=Provenance.UNPRICED,
            amount=None,
            project=project,
            model=model,
            line_item=f"usage::{model}",
            raw={},
        )
        usage.attach(orphan)
        records.append(orphan)
    return records
