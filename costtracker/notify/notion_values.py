"""Page property values for the Services and Usages databases, built from a MonthlyReport.

Notion caps a text object at 2000 characters and a rich-text array at 100 objects, so long text
(``Breakdown JSON``, ``Log Status``) is split into several objects, cut at 2000 UTF-16 code units
(Notion counts as JavaScript does), and what would not fit in 100 objects is cut with a marker.
An unknown amount is written as an empty number, never 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costtracker.notify.notion_schema import NotionSchema
from costtracker.reports.model import ModelLine, MonthlyReport, ProjectReport, ProviderReport

TEXT_LIMIT, ARRAY_LIMIT = 2000, 100
CUT = "… (cut: too long for Notion)"


def _units(character: str) -> int:
    return 2 if ord(character) > 0xFFFF else 1


def split_text(text: str, limit: int = TEXT_LIMIT, most: int = ARRAY_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units, at most ``most`` pieces (the last cut)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for character in text:
        if size + _units(character) > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(character)
        size += _units(character)
    if current:
        pieces.append("".join(current))
    if len(pieces) > most:
        pieces = pieces[:most]
        pieces[-1] = pieces[-1][: limit - len(CUT) - 1] + CUT
    return pieces


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": piece}} for piece in split_text(value)]


def rich_text(value: str | None) -> dict[str, Any]:
    return {"rich_text": text(value or "")}


def number(value: Decimal | int | None) -> dict[str, Any]:
    return {"number": value}


@dataclass(frozen=True)
class UsageRow:
    """One Usages page: a project of a provider, or the provider itself when it has none."""

    key: str
    identifier: str
    provider: ProviderReport
    project: ProjectReport | None


def usage_rows(report: MonthlyReport, provider: ProviderReport) -> list[UsageRow]:
    head = f"{report.month} - {provider.name}"
    if not provider.projects:
        return [UsageRow(f"usage:{report.month}:{provider.key}::", head, provider, None)]
    rows = []
    for project in provider.projects:
        label = project.project or project.workspace or project.project_id
        key = f"usage:{report.month}:{provider.key}:{project.workspace or ''}:{project.project_id}"
        rows.append(UsageRow(key, f"{head} - {label}" if label else head, provider, project))
    return rows


def service_properties(schema: NotionSchema, provider: ProviderReport) -> dict[str, Any]:
    status = "inactive" if provider.status == "skipped" else "active"
    return {
        schema["services.name"]: {"title": text(provider.name)},
        schema["services.status"]: {"select": {"name": schema.label("service", status)}},
        schema["services.console_url"]: {"url": provider.console_url or None},
        schema["services.provider_id"]: rich_text(provider.key),
    }


def _breakdown(lines: list[ModelLine]) -> str:
    items = [
        {
            "model": line.model,
            "cost": None if line.amount is None else format(line.amount, "f"),
            "requests": line.requests,
            "input_tokens": line.input_tokens,
            "output_tokens": line.output_tokens,
            "provenance": line.provenance,
        }
        for line in lines
    ]
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def usage_properties(
    schema: NotionSchema, report: MonthlyReport, row: UsageRow, service_page: str
) -> dict[str, Any]:
    provider, project = row.provider, row.project
    status = project.status if project else provider.status
    log = project.log if project and project.log else (provider.reason or "")
    collected = project.collected_at if project else None
    return {
        schema["usages.identifier"]: {"title": text(row.identifier)},
        schema["usages.key"]: rich_text(row.key),
        schema["usages.service"]: {"relation": [{"id": service_page}]},
        schema["usages.month"]: rich_text(report.month),
        schema["usages.project"]: rich_text(project.project_id or project.project if project else ""),
        schema["usages.workspace"]: rich_text(project.workspace if project else ""),
        schema["usages.models"]: rich_text(", ".join(project.models) if project else ""),
        schema["usages.tokens_in"]: number(project.input_tokens if project else None),
        schema["usages.tokens_out"]: number(project.output_tokens if project else None),
        schema["usages.cost"]: number(project.total if project else provider.total),
        schema["usages.requests"]: number(project.requests if project else None),
        schema["usages.breakdown"]: rich_text(_breakdown(project.breakdown) if project else "[]"),
        schema["usages.collected_at"]: {"date": {"start": collected.isoformat()} if collected else None},
        schema["usages.collection_status"]: {"select": {"name": schema.label("status", status)}},
        schema["usages.log_status"]: rich_text(log),
    }
