"""Mistral: the Enterprise Admin API's monthly usage, priced with the prices given in the same answer.

Mistral has no public billing API. Where an organisation has the Enterprise Admin API (beta), an
admin key (``MISTRAL_ADMIN_KEY``, created in the Backoffice) reads ``GET /v1/admin/usage?month=&year=``
(path: ``COSTTRACKER_MISTRAL_ADMIN_USAGE_PATH``): metered usage per category and model, plus the unit
prices (``prices``: billing metric x billing group). A line's cost is ``value_paid`` x its price, in the
answer's currency (EUR is common: kept, the engine converts). Usage is monthly: a month's lines are
dated on its first day, so collecting the month again rewrites the same lines. With only
``MISTRAL_API_KEY`` nothing is collectable; :meth:`MistralSource.configuration_problem` says why.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from costtracker import clock
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
    Source,
)
from costtracker.store.models import Provenance

ACCOUNT = "default"
NO_BILLING_API = "Mistral has no public billing API; costs are estimated from usage events"
CATEGORIES: dict[str, tuple[str, ...]] = {  # line item -> where its {model: {lane: [entry]}} map sits
    **{
        name: (name, "models")
        for name in ("chat", "completion", "ocr", "connectors", "audio", "audio_characters")
    },
    **{
        f"libraries_api.{name}": ("libraries_api", name, "models")
        for name in ("pages", "tokens", "audio_seconds")
    },
    "fine_tuning.training": ("fine_tuning", "training"),
    **{
        f"vibe_code.{name}": ("vibe_code", name, "models")
        for name in ("completion", "ocr", "connectors", "audio", "audio_characters")
    },
}
TOKEN_ITEMS = {"chat", "completion", "libraries_api.tokens", "fine_tuning.training", "vibe_code.completion"}


def number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"not a number: {value!r}")
    return Decimal(str(value))


class Prices:
    """The answer's ``prices``, found by billing metric and group (and zone and tier when given)."""

    def __init__(self, prices: Any) -> None:
        self.by_key: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for item in prices if isinstance(prices, list) else []:
            if isinstance(item, dict):
                self.by_key.setdefault((item.get("billing_metric"), item.get("billing_group")), []).append(
                    item
                )

    def unit(self, entry: dict[str, Any]) -> Decimal | None:
        candidates = self.by_key.get((entry.get("billing_metric"), entry.get("billing_group")), [])
        for name in ("api_zone", "service_tier"):
            if entry.get(name) is not None:
                candidates = [item for item in candidates if item.get(name) == entry[name]]
        values = {number(item["price"]) for item in candidates}
        return values.pop() if len(values) == 1 else None  # none, or ambiguous: unknown


@dataclass
class Usage:
    """One model's entries in one category: consumed and paid units per lane, and their cost."""

    amount: Decimal = Decimal(0)
    units: dict[str, int] = field(default_factory=dict)
    paid: dict[str, int] = field(default_factory=dict)
    lanes: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, lane: str, entry: dict[str, Any], cost: Decimal) -> None:
        self.units[lane] = self.units.get(lane, 0) + int(entry.get("value") or 0)
        self.paid[lane] = self.paid.get(lane, 0) + _paid(entry)
        self.lanes.setdefault(lane, []).append(entry)
        self.amount += cost


def _dig(payload: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = payload
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _paid(entry: dict[str, Any]) -> int:
    return int(entry.get("value") or 0) if entry.get("value_paid") is None else int(entry["value_paid"])


def usages(payload: dict[str, Any]) -> Iterator[tuple[str, str, Usage, Usage]]:
    """(line item, model, priced usage, unpriced usage) for every model of every category."""
    prices = Prices(payload.get("prices"))
    for line_item, path in CATEGORIES.items():
        for model, lanes in _dig(payload, path).items():
            priced, unpriced = Usage(), Usage()
            for lane, entries in (lanes or {}).items():
                for entry in entries:
                    unit = prices.unit(entry)
                    if unit is None and _paid(entry) != 0:
                        unpriced.add(lane, entry, Decimal(0))
                    else:  # nothing paid costs nothing, price or not
                        priced.add(lane, entry, (unit or Decimal(0)) * _paid(entry))
            yield line_item, model, priced, unpriced


def month_periods(period: Period) -> Iterator[Period]:
    year, month = period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        yield Period.month(year, month)
        year, month = year + month // 12, month % 12 + 1


class MistralSource(Source):
    key = "mistral"
    display_name = "Mistral"
    kind = "llm"
    console_url = "https://admin.mistral.ai"
    has_workspaces = False
    # The Admin API documents no rate limit; one request per month collected.
    rate_limit = RateLimit(concurrency=2, per_second=2.0)
    settings_keys: ClassVar[tuple[str, ...]] = ("MISTRAL_ADMIN_KEY", "MISTRAL_API_KEY")

    @classmethod
    def credentials(cls, settings: Settings) -> list[Credential]:
        if settings.mistral_admin_key is None:
            return []
        return [Credential("default", settings.mistral_admin_key)]

    @classmethod
    def configuration_problem(cls, settings: Settings) -> str | None:
        if settings.mistral_admin_key is None and settings.mistral_api_key is not None:
            return NO_BILLING_API
        return None

    @classmethod
    def home_account(cls, credential: Credential) -> AccountInfo | None:
        return AccountInfo(ACCOUNT, cls.display_name)

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        # The admin guides say x-api-key, the OpenAPI security scheme says bearer: send both.
        secret = credential.secret.get_secret_value()
        return {"x-api-key": secret, "Authorization": f"Bearer {secret}"}

    async def discover(self, credential: Credential) -> Discovery:
        today = clock.today()
        payload = await self._usage(credential, today.year, today.month)
        meta = {"currency": payload.get("currency"), "usage_source": "Enterprise Admin API"}
        return Discovery([AccountInfo(ACCOUNT, self.display_name, meta)])

    async def collect(self, credential: Credential, period: Period) -> Collection:
        today = clock.today()
        months = [month for month in month_periods(period) if month.start <= today]
        answers = await asyncio.gather(
            *(self._usage(credential, m.start.year, m.start.month) for m in months)
        )
        records = [
            record
            for month, payload in zip(months, answers, strict=True)
            for record in self._records(credential, payload, month.start)
        ]
        notes = self._notes(period, months, today)
        complete = period.end < today and all(month.end < today for month in months)
        unfinished = [month for month in months if month.end >= today]  # their usage is not final yet
        return Collection(records, complete=complete, notes=notes, incomplete=unfinished)

    def _notes(self, period: Period, months: list[Period], today: date) -> list[str]:
        notes = []
        # Lines cover whole months up to today: say so when that is more than the period.
        if months and (
            period.start != months[0].start or min(period.end, today) < min(months[-1].end, today)
        ):
            notes.append(
                "Mistral reports whole months: each month's lines cover the whole month and are "
                "dated on its first day."
            )
        notes += [
            f"{m.start:%Y-%m} is month to date: Mistral's usage for it is not final."
            for m in months
            if m.end >= today
        ]
        if period.end.replace(day=1) > today:
            notes.append(f"The months after {today:%Y-%m} have not started: nothing to collect for them.")
        return notes

    def _records(self, credential: Credential, payload: dict[str, Any], first: date) -> list[CostRecord]:
        try:
            found = list(usages(payload))
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
            raise self._bad(credential, f"with usage it cannot read ({exc})") from None
        currency = self._currency(credential, payload, any(priced.amount for _, _, priced, _ in found))
        records = []
        for line_item, model, priced, unpriced in found:
            if priced.lanes:
                records.append(self._record(first, line_item, model, priced, currency, Provenance.BILLED))
            if unpriced.lanes:
                records.append(self._record(first, line_item, model, unpriced, currency, Provenance.UNPRICED))
        return records

    def _currency(self, credential: Credential, payload: dict[str, Any], has_money: bool) -> str:
        currency = str(payload.get("currency") or "").upper()
        if re.fullmatch(r"[A-Z]{3}", currency):
            return currency
        if has_money:
            raise self._bad(credential, "with amounts but no currency")
        return "EUR"  # no money at all: the currency does not matter

    def _record(
        self, first: date, line_item: str, model: str, usage: Usage, currency: str, provenance: Provenance
    ) -> CostRecord:
        tokens = usage.units if line_item in TOKEN_ITEMS else {}
        return CostRecord(
            day=first,
            account=ACCOUNT,
            provenance=provenance,
            amount=usage.amount if provenance == Provenance.BILLED else None,
            currency=currency,
            model=model,
            line_item=line_item,
            input_tokens=tokens.get("input"),
            output_tokens=tokens.get("output"),
            cached_input_tokens=tokens.get("cached"),
            usage_extra={"month": f"{first:%Y-%m}", "units": usage.units, "units_paid": usage.paid},
            raw={"category": line_item, "model": model, "lanes": usage.lanes},
        )

    async def _usage(self, credential: Credential, year: int, month: int) -> dict[str, Any]:
        path = self.settings.mistral_admin_usage_path
        payload = await self.get(credential, path, {"month": str(month), "year": str(year)})
        if not isinstance(payload, dict):
            raise self._bad(credential, "with something other than a usage object")
        return payload

    def _bad(self, credential: Credential, what: str) -> BadResponse:
        return BadResponse(
            self.key, f"answered {self.settings.mistral_admin_usage_path} {what}", account=credential.label
        )
