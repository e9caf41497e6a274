"""OpenAI: what each organisation ("workspace") was billed, per project and line item, and usage per model.

Money comes from the Costs API (``billed``). The usage endpoints give tokens, requests and other
counters per project and model; priced with genai-prices they become ``estimated`` lines kept
beside the bill (``in_total=False``), because OpenAI already bills that usage. The Costs API
lags: on the trailing days of the period for which it returned no result yet, the estimates
stand in for the bill (``in_total=True``). Usage nobody can price is kept as ``unpriced``.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from costtracker.errors import BadResponse
from costtracker.http import RateLimit
from costtracker.prices import Estimate, TokenUsage, estimate_tokens, estimate_units
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

COSTS = "/v1/organization/costs"
PROJECTS = "/v1/organization/projects"
USAGE = "/v1/organization/usage/"
TOKEN_KINDS = ("completions", "embeddings", "moderations")
# Other usage kinds: the counter each reports, priced per unit from our own table (sku "<kind>:<model>").
UNIT_KINDS = {
    "images": "images",
    "audio_speeches": "characters",
    "audio_transcriptions": "seconds",
    "vector_stores": "usage_bytes",
    "code_interpreter_sessions": "num_sessions",
}
MODELLESS = ("vector_stores", "code_interpreter_sessions")  # group_by accepts project_id only
ALL_KINDS = (*TOKEN_KINDS, *UNIT_KINDS)
Key = tuple[str, date, str, str, str]  # project, day, model, line item, provenance
SUMMED = (
    "amount input_tokens output_tokens cached_input_tokens cache_write_tokens "
    "requests characters audio_seconds"
)


def slug(label: str) -> str:
    """A stable account id from a workspace name: ``My Lab`` -> ``my-lab``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "default"


def model_of(line_item: str) -> str:
    """The model a billed line names (``gpt-4o-2024-08-06, input`` -> ``gpt-4o-2024-08-06``), else ''."""
    head, comma, _ = line_item.partition(", ")
    return head if comma and head and not any(c.isspace() for c in head) else ""


def _int(result: dict[str, Any], name: str) -> int:
    return int(result.get(name) or 0)


class OpenAISource(Source):
    key: ClassVar[str] = "openai"
    display_name: ClassVar[str] = "OpenAI"
    kind: ClassVar[str] = "llm"
    console_url: ClassVar[str | None] = "https://platform.openai.com/settings/organization/admin-keys"
    has_workspaces: ClassVar[bool] = True
    # OpenAI publishes no limit for the admin endpoints; stay gentle, summed over every workspace.
    rate_limit: ClassVar[RateLimit] = RateLimit(concurrency=4, per_second=8.0)
    settings_keys: ClassVar[tuple[str, ...]] = ("OPENAI_ADMIN_KEY", "OPENAI_ADMIN_KEY_<NAME>")

    @classmethod
    def credentials(cls, settings: Settings) -> list[Credential]:
        return [Credential(label, secret) for label, secret in sorted(settings.openai_workspaces().items())]

    @classmethod
    def home_account(cls, credential: Credential) -> AccountInfo | None:
        """Each admin key is one organisation: its workspace is known before any request."""
        return AccountInfo(slug(credential.label), credential.label)

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential.secret.get_secret_value()}"}

    async def discover(self, credential: Credential) -> Discovery:
        account = AccountInfo(slug(credential.label), credential.label)
        projects: list[ProjectInfo] = []
        params: dict[str, Any] = {"limit": 100, "include_archived": "true"}
        while True:
            body = await self.get(credential, PROJECTS, params)
            page = self._list(body, "data", credential)
            projects += [self._project(account.external_id, item, credential) for item in page]
            after = body.get("last_id") or (page[-1]["id"] if page else None)
            if not body.get("has_more"):
                return Discovery([account], projects)
            if not after or after == params.get("after"):
                raise BadResponse(
                    self.key, "listed more projects without a new cursor", account=credential.label
                )
            params = {**params, "after": after}

    def _project(self, account: str, item: dict[str, Any], credential: Credential) -> ProjectInfo:
        if not isinstance(item.get("id"), str):
            raise BadResponse(self.key, "listed a project without an id", account=credential.label)
        status = item.get("status") or ("archived" if item.get("archived_at") else "active")
        meta = {"created_at": item.get("created_at"), "archived_at": item.get("archived_at")}
        return ProjectInfo(account, item["id"], item.get("name") or item["id"], status=status, meta=meta)

    async def collect(self, credential: Credential, period: Period) -> Collection:
        try:
            async with asyncio.TaskGroup() as group:
                billed = group.create_task(self._billed(credential, period))
                usage = [group.create_task(self._usage(credential, period, kind)) for kind in ALL_KINDS]
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from None
        records = billed.result()
        last_billed = max((record.day for record in records), default=None)
        unbilled = {day for day in period.days() if last_billed is None or day > last_billed}
        account = slug(credential.label)
        for task in usage:
            records += [
                self._estimate(account, kind, day, result, day in unbilled)
                for kind, day, result in task.result()
            ]
        records = _merged(records)
        return Collection(records, notes=_notes(records, unbilled))

    async def _results(
        self, credential: Credential, path: str, period: Period, params: list[tuple[str, Any]], limit: int
    ) -> list[tuple[date, dict[str, Any]]]:
        """(day, result) of every bucket of the period, following ``next_page`` (passed back as ``page=``)."""
        days = (period.end - period.start).days + 1
        query = [
            ("start_time", int(period.start_datetime.timestamp())),
            ("end_time", int(period.end_exclusive.timestamp())),
            ("bucket_width", "1d"),
            ("limit", min(limit, days)),
            *params,
        ]
        results: list[tuple[date, dict[str, Any]]] = []
        cursor = None
        while True:
            body = await self.get(credential, path, query + ([("page", cursor)] if cursor else []))
            for bucket in self._list(body, "data", credential):
                day = self._day(bucket, credential)
                results += [(day, result) for result in self._list(bucket, "results", credential)]
            if not body.get("has_more"):
                return results
            if not body.get("next_page") or body["next_page"] == cursor:
                raise BadResponse(
                    self.key, f"{path} has more pages but no new next_page", account=credential.label
                )
            cursor = body["next_page"]

    async def _billed(self, credential: Credential, period: Period) -> list[CostRecord]:
        params = [("group_by[]", "project_id"), ("group_by[]", "line_item")]
        results = await self._results(credential, COSTS, period, params, 180)
        return [self._cost(credential, day, result) for day, result in results]

    def _cost(self, credential: Credential, day: date, result: dict[str, Any]) -> CostRecord:
        amount: Any = result.get("amount")
        try:
            value = Decimal(str(amount["value"]))  # the float's shortest repr: exact
        except (KeyError, TypeError, InvalidOperation):
            raise BadResponse(self.key, f"a cost of {day} has no amount", account=credential.label) from None
        line_item = result.get("line_item") or ""
        return CostRecord(
            day=day,
            account=slug(credential.label),
            provenance=Provenance.BILLED,
            amount=value,
            currency=str(amount.get("currency") or "usd").upper(),
            project=result.get("project_id") or "",
            model=model_of(line_item),
            line_item=line_item,
            usage_extra={k: result[k] for k in ("quantity", "quantity_unit") if result.get(k) is not None},
            raw=result,
        )

    async def _usage(
        self, credential: Credential, period: Period, kind: str
    ) -> list[tuple[str, date, dict[str, Any]]]:
        fields = ("project_id",) if kind in MODELLESS else ("project_id", "model")
        params = [("group_by[]", name) for name in fields]
        results = await self._results(credential, USAGE + kind, period, params, 31)
        return [(kind, day, result) for day, result in results]

    def _estimate(
        self, account: str, kind: str, day: date, result: dict[str, Any], unbilled: bool
    ) -> CostRecord:
        model = result.get("model") or ""
        usage, estimate = (_token_usage if kind in TOKEN_KINDS else _unit_usage)(kind, model, day, result)
        priced: dict[str, Any] = {"provenance": Provenance.UNPRICED, "amount": None}
        if estimate is not None:
            priced = {
                "provenance": Provenance.ESTIMATED,
                "amount": estimate.amount,
                "currency": estimate.currency,
                "price_table": estimate.table,
                "price_table_version": estimate.version,
            }
        requests = _int(result, "num_model_requests") if "num_model_requests" in result else None
        return CostRecord(
            day=day,
            account=account,
            project=result.get("project_id") or "",
            model=model,
            line_item=kind,
            requests=requests,
            raw=result,
            in_total=unbilled,
            **usage,
            **priced,
        )

    def _day(self, bucket: dict[str, Any], credential: Credential) -> date:
        try:
            return datetime.fromtimestamp(int(bucket["start_time"]), UTC).date()
        except (KeyError, TypeError, ValueError, OverflowError):
            raise BadResponse(
                self.key, "answered a bucket without a start_time", account=credential.label
            ) from None

    def _list(self, body: Any, name: str, credential: Credential) -> list[dict[str, Any]]:
        items = body.get(name) if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise BadResponse(self.key, f"answered without a '{name}' list", account=credential.label)
        return items


def _token_usage(
    kind: str, model: str, day: date, result: dict[str, Any]
) -> tuple[dict[str, Any], Estimate | None]:
    usage = TokenUsage(
        input_tokens=_int(result, "input_tokens"),
        output_tokens=_int(result, "output_tokens"),
        cache_read_tokens=_int(result, "input_cached_tokens"),
        cache_write_tokens=_int(result, "input_cache_write_tokens"),
    )
    fields = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_input_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens or None,
    }
    return fields, estimate_tokens("openai", model, usage, day) if model else None


def _unit_usage(
    kind: str, model: str, day: date, result: dict[str, Any]
) -> tuple[dict[str, Any], Estimate | None]:
    counter = UNIT_KINDS[kind]
    quantity = _int(result, counter)
    fields: dict[str, Any] = {"usage_extra": {counter: quantity}}
    if counter in ("characters", "seconds"):
        fields = {"characters": quantity} if counter == "characters" else {"audio_seconds": Decimal(quantity)}
    sku = f"{kind}:{model}" if model else kind
    return fields, estimate_units("openai", sku, Decimal(quantity), day)


def _notes(records: list[CostRecord], unbilled: set[date]) -> list[str]:
    standing_in = sorted({r.day for r in records if r.day in unbilled})
    if not standing_in:
        return []
    return [
        f"the Costs API has no figures yet for {standing_in[0]}..{standing_in[-1]}; "
        "usage estimates stand in for those days"
    ]


def _key(record: CostRecord) -> Key:
    return record.project, record.day, record.model, record.line_item, record.provenance


def _merged(records: list[CostRecord]) -> list[CostRecord]:
    """One record per ledger key, should the API ever split what the ledger keeps as one line."""
    merged: dict[Key, CostRecord] = {}
    for record in records:
        into = merged.setdefault(_key(record), record)
        if into is record:
            continue
        for name in SUMMED.split():
            mine, theirs = getattr(into, name), getattr(record, name)
            setattr(into, name, mine if theirs is None else theirs if mine is None else mine + theirs)
        for name, value in record.usage_extra.items():
            if isinstance(value, int) and isinstance(into.usage_extra.get(name, 0), int):
                into.usage_extra[name] = into.usage_extra.get(name, 0) + value
        into.raw = {"merged": [*into.raw.get("merged", [into.raw]), record.raw]}
    return list(merged.values())
