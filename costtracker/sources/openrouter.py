"""OpenRouter: billed USD per day x model x provider from the activity API, API keys as projects.

With ``OPENROUTER_MANAGEMENT_KEY`` it reads ``/api/v1/credits`` (the balance, kept as account
meta: a balance is not a cost), ``/api/v1/keys`` (every key, disabled ones too: the projects) and
``/api/v1/activity`` once for the whole account and once per key that was ever used
(``api_key_hash``). The account's rows minus the keys' rows is what was spent without a listed
key (the chatroom, keys of other workspaces, deleted keys): it is kept with project ''. The
activity API only covers the last 30 completed UTC days, so an older range comes back incomplete
with a note naming the days it misses. With only ``OPENROUTER_API_KEY`` (a normal key) it can only
describe that key's running totals (``/api/v1/key``) and collects nothing per day.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from costtracker import clock
from costtracker.errors import BadResponse
from costtracker.http import Http, RateLimit
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
WINDOW_DAYS = 30
CREDITS, KEY, KEYS, ACTIVITY = "/api/v1/credits", "/api/v1/key", "/api/v1/keys", "/api/v1/activity"
NEEDS_MANAGEMENT = (
    "OPENROUTER_API_KEY is a normal key: OpenRouter shows it only its own running totals, not the daily "
    "spend per model. Set OPENROUTER_MANAGEMENT_KEY to collect OpenRouter costs."
)
LineKey = tuple[date, str, str]  # day, model, provider


def usd(value: Any) -> Decimal:
    """A JSON number as an exact Decimal (the shortest repr of the float is what was sent)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"not a number: {value!r}")
    return Decimal(str(value))


@dataclass
class Line:
    """The activity rows of one day, model and provider, summed (one model has a row per endpoint)."""

    amount: Decimal = Decimal(0)
    byok: Decimal = Decimal(0)
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Line, sign: int = 1) -> None:
        self.amount += sign * other.amount
        self.byok += sign * other.byok
        self.requests += sign * other.requests
        self.prompt_tokens += sign * other.prompt_tokens
        self.completion_tokens += sign * other.completion_tokens
        self.reasoning_tokens += sign * other.reasoning_tokens

    @classmethod
    def of(cls, row: dict[str, Any]) -> tuple[LineKey, Line]:
        key = (date.fromisoformat(row["date"]), str(row["model"]), str(row["provider_name"]))
        return key, cls(
            usd(row["usage"]),
            usd(row.get("byok_usage_inference") or 0),
            int(row["requests"]),
            int(row["prompt_tokens"]),
            int(row["completion_tokens"]),
            int(row.get("reasoning_tokens") or 0),
            [row],
        )

    def is_nil(self) -> bool:
        counts = (self.requests, self.prompt_tokens, self.completion_tokens, self.reasoning_tokens)
        return abs(self.amount) < Decimal("1e-9") and abs(self.byok) < Decimal("1e-9") and not any(counts)


def _span(first: date, last: date) -> str:
    return f"{first} is" if first == last else f"{first} to {last} are"


def coverage(period: Period, today: date) -> tuple[Period | None, list[str]]:
    """The part of ``period`` the activity API serves, and a note for each part it does not."""
    first, last = today - timedelta(days=WINDOW_DAYS), today - timedelta(days=1)
    notes = []
    if period.start < first:
        missing = _span(period.start, min(period.end, first - timedelta(days=1)))
        notes.append(
            f"OpenRouter keeps daily activity for the last {WINDOW_DAYS} completed UTC days only "
            f"({first} to {last}): {missing} not covered."
        )
    if period.end > last:
        pending = _span(max(period.start, last + timedelta(days=1)), period.end)
        notes.append(
            f"{pending} not reported yet: OpenRouter publishes a UTC day's activity once it is over."
        )
    start, end = max(period.start, first), min(period.end, last)
    return (Period(start, end) if start <= end else None), notes


def _meta(values: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Provider fields for a meta column, money as exact decimal strings."""
    return {
        name: str(usd(value)) if isinstance(value, float) else value
        for name, value in values.items()
        if name not in skip
    }


def _was_used(key: dict[str, Any]) -> bool:
    try:
        return usd(key.get("usage", 1)) != 0 or usd(key.get("byok_usage", 0)) != 0
    except (TypeError, InvalidOperation):
        return True


class OpenRouterSource(Source):
    key = "openrouter"
    display_name = "OpenRouter"
    kind = "llm"
    console_url = "https://openrouter.ai/activity"
    has_workspaces = False
    # OpenRouter documents no limit for its management endpoints; a handful of calls per run.
    rate_limit = RateLimit(concurrency=2, per_second=5.0)
    settings_keys: ClassVar[tuple[str, ...]] = ("OPENROUTER_MANAGEMENT_KEY", "OPENROUTER_API_KEY")

    @classmethod
    def credentials(cls, settings: Settings) -> list[Credential]:
        if settings.openrouter_management_key is not None:
            return [Credential("default", settings.openrouter_management_key, {"kind": "management"})]
        if settings.openrouter_api_key is not None:
            return [Credential("default", settings.openrouter_api_key, {"kind": "api"})]
        return []

    @classmethod
    def home_account(cls, credential: Credential) -> AccountInfo | None:
        return AccountInfo(ACCOUNT, cls.display_name)

    def __init__(self, settings: Settings, http: Http) -> None:
        super().__init__(settings, http)
        self._key_lists: dict[str, asyncio.Future[list[dict[str, Any]]]] = {}

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential.secret.get_secret_value()}"}

    async def discover(self, credential: Credential) -> Discovery:
        if credential.extra.get("kind") != "management":
            key = await self._data(credential, KEY)
            return Discovery([AccountInfo(ACCOUNT, self.display_name, {"key": _meta(key)})])
        credits = await self._data(credential, CREDITS)
        try:
            balance = usd(credits["total_credits"]) - usd(credits["total_usage"])
        except (KeyError, TypeError, InvalidOperation):
            raise self._bad(credential, CREDITS, "without total_credits and total_usage") from None
        meta = {**_meta(credits), "balance": str(balance), "currency": "USD"}
        projects = [self._project(key) for key in await self._keys(credential)]
        return Discovery([AccountInfo(ACCOUNT, self.display_name, meta)], projects)

    async def collect(self, credential: Credential, period: Period) -> Collection:
        if credential.extra.get("kind") != "management":
            return Collection([], complete=False, notes=[NEEDS_MANAGEMENT], replaces=[])
        covered, notes = coverage(period, clock.today())
        if covered is None:
            return Collection([], complete=False, notes=notes, replaces=[])
        hashes = [str(key["hash"]) for key in await self._keys(credential) if _was_used(key)]
        account, *per_key = await asyncio.gather(
            self._lines(credential, None), *(self._lines(credential, h) for h in hashes)
        )
        records = self._records(account, dict(zip(hashes, per_key, strict=True)), covered)
        # the days in the window are whole; the others are outside ``replaces`` and said in the notes
        return Collection(records, complete=not notes, notes=notes, replaces=[covered], incomplete=[])

    def _records(
        self, account: dict[LineKey, Line], per_key: dict[str, dict[LineKey, Line]], covered: Period
    ) -> list[CostRecord]:
        records, attributed = [], dict[LineKey, Line]()
        for key_hash, lines in per_key.items():
            for line_key, line in lines.items():
                if covered.start <= line_key[0] <= covered.end:
                    records.append(self._record(line_key, line, key_hash))
                    attributed.setdefault(line_key, Line()).add(line)
        for line_key, line in account.items():
            rest = Line(rows=line.rows)
            rest.add(line)
            rest.add(attributed.get(line_key, Line()), sign=-1)
            if covered.start <= line_key[0] <= covered.end and not rest.is_nil():
                records.append(self._record(line_key, rest, ""))
        return records

    def _record(self, line_key: LineKey, line: Line, project: str) -> CostRecord:
        day, model, provider = line_key
        extra = {
            "reasoning_tokens": line.reasoning_tokens,
            "byok_usage_inference": str(line.byok),
            "endpoint_ids": sorted({str(row.get("endpoint_id")) for row in line.rows}),
        }
        # An unattributed line is the account's rows minus the keys' lines: its raw rows are the account's.
        raw = {"rows": line.rows} if project else {"account_rows": line.rows, "minus_listed_keys": True}
        return CostRecord(
            day=day,
            account=ACCOUNT,
            provenance=Provenance.BILLED,
            amount=line.amount,
            currency="USD",
            project=project,
            model=model,
            line_item=provider,
            input_tokens=line.prompt_tokens,
            output_tokens=line.completion_tokens,
            requests=line.requests,
            usage_extra=extra,
            raw=raw,
        )

    async def _lines(self, credential: Credential, key_hash: str | None) -> dict[LineKey, Line]:
        params = {"api_key_hash": key_hash} if key_hash else None
        lines: dict[LineKey, Line] = {}
        for row in await self._data_list(credential, ACTIVITY, params):
            try:
                line_key, line = Line.of(row)
            except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
                raise self._bad(
                    credential, ACTIVITY, f"with an activity row it cannot read ({exc})"
                ) from None
            if line_key in lines:
                lines[line_key].add(line)
                lines[line_key].rows.append(row)
            else:
                lines[line_key] = line
        return lines

    async def _keys(self, credential: Credential) -> list[dict[str, Any]]:
        """The key list, fetched once per credential: ``discover`` and ``collect`` run side by side."""
        if credential.label not in self._key_lists:
            self._key_lists[credential.label] = asyncio.ensure_future(self._fetch_keys(credential))
        return await asyncio.shield(self._key_lists[credential.label])

    async def _fetch_keys(self, credential: Credential) -> list[dict[str, Any]]:
        """Every key, following ``offset`` until an empty page (the page size is not promised)."""
        keys: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            page = await self._data_list(credential, KEYS, {"include_disabled": "true", "offset": len(keys)})
            if not page or not all(isinstance(key, dict) and "hash" in key for key in page):
                return keys
            if {str(key["hash"]) for key in page} <= seen:  # a server that ignores offset
                return keys
            seen.update(str(key["hash"]) for key in page)
            keys.extend(page)

    def _project(self, key: dict[str, Any]) -> ProjectInfo:
        name = str(key.get("name") or key.get("label") or str(key["hash"])[:12])
        status = "archived" if key.get("disabled") else "active"
        return ProjectInfo(
            ACCOUNT,
            str(key["hash"]),
            name,
            kind="api_key",
            status=status,
            meta=_meta(key, skip=("hash", "name")),
        )

    async def _data(self, credential: Credential, path: str) -> dict[str, Any]:
        payload = await self.get(credential, path)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise self._bad(credential, path, "without a data object")
        return data

    async def _data_list(
        self, credential: Credential, path: str, params: dict[str, Any] | None = None
    ) -> list[Any]:
        payload = await self.get(credential, path, params)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise self._bad(credential, path, "without a data list")
        return data

    def _bad(self, credential: Credential, path: str, what: str) -> BadResponse:
        return BadResponse(self.key, f"answered {path} {what}", account=credential.label)
