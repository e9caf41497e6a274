"""Anthropic: billed money from the Admin API cost report, tokens from the messages usage report.

The cost report is the bill: amounts (decimal strings in *cents*) per workspace and line item,
the line item naming the model and token type. It leaves Priority Tier out (that is billed on a
separate commitment), so priority-tier usage is priced with genai-prices and *counted* as an
estimate. Standard-tier usage is priced too, per API key, but only for the per-model view:
the cost report already bills it, so those estimates stay out of totals.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pydantic import SecretStr

from costtracker.errors import BadResponse
from costtracker.http import RateLimit
from costtracker.prices import Estimate, TokenUsage, estimate_tokens
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

log = logging.getLogger(__name__)

ADMIN_PREFIX = "sk-ant-admin"
INFERENCE_PREFIX = "sk-ant-api"
API_VERSION = "2023-06-01"
WORKSPACES = "/v1/organizations/workspaces"
API_KEYS = "/v1/organizations/api_keys"
COST_REPORT = "/v1/organizations/cost_report"
USAGE_REPORT = "/v1/organizations/usage_report/messages"
DEFAULT_WORKSPACE = "default"  # reports give the default workspace as workspace_id null
DEFAULT_WORKSPACE_NAME = "Default workspace"
LIST_LIMIT = 100  # workspaces and keys per page (the API allows 1..1000)
MAX_DAYS = 31  # daily buckets per page, the documented maximum of both reports
COST_PARAMS = [("group_by[]", "workspace_id"), ("group_by[]", "description")]
# service_tier tells priority (not billed in the cost report) from standard usage; context_window
# tells which side of the 200k long-context price tier the requests were on.
USAGE_GROUPS = ("model", "workspace_id", "api_key_id", "service_tier", "context_window")
USAGE_PARAMS = [("bucket_width", "1d"), *(("group_by[]", group) for group in USAGE_GROUPS)]
PRIORITY_TIERS = frozenset({"priority", "priority_on_demand"})  # absent from the cost report
PRICED_TIERS = PRIORITY_TIERS | {"standard"}  # genai-prices has no batch or flex rates
LONG_CONTEXT = "200k-1M"
CACHE_1H = "cache_creation.ephemeral_1h_input_tokens"
SHORT_PROBE, LONG_PROBE = 100_000, 1_000_000  # one request's input under / over the 200k tier
COST_DETAILS = ("token_type", "cost_type", "service_tier", "context_window", "inference_geo")


class AnthropicSource(Source):
    key = "anthropic"
    display_name = "Anthropic"
    kind = "llm"
    console_url = "https://platform.claude.com/settings/admin-keys"
    has_workspaces = True
    # Anthropic publishes no Admin API rate limit; its guide supports polling once a minute for
    # sustained use. A collection is a short burst of pages, so keep it gentle.
    rate_limit = RateLimit(concurrency=2, per_second=4.0)
    settings_keys = ("ANTHROPIC_ADMIN_KEY", "ANTHROPIC_API_KEY")

    @classmethod
    def credentials(cls, settings: Settings) -> list[Credential]:
        secret = cls._admin_key(settings)
        return [Credential(DEFAULT_WORKSPACE, secret)] if secret is not None else []

    @classmethod
    def _admin_key(cls, settings: Settings) -> SecretStr | None:
        admin, api = settings.anthropic_admin_key, settings.anthropic_api_key
        if admin is not None:
            return None if admin.get_secret_value().startswith(INFERENCE_PREFIX) else admin
        if api is not None and api.get_secret_value().startswith(ADMIN_PREFIX):
            return api
        return None

    @classmethod
    def configuration_problem(cls, settings: Settings) -> str | None:
        """An inference key is set where an Admin key is needed: say so instead of failing with 401."""
        if cls._admin_key(settings) is not None:
            return None
        if settings.anthropic_admin_key is not None:
            variable = "ANTHROPIC_ADMIN_KEY"
        elif settings.anthropic_api_key is not None:
            variable = "ANTHROPIC_API_KEY"
        else:
            return None
        return (
            f"{variable} is an inference API key, not an Admin API key (sk-ant-admin…); the usage and "
            f"cost reports need an Admin key, created by an organisation admin at {cls.console_url}, "
            "set as ANTHROPIC_ADMIN_KEY"
        )

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        return {"x-api-key": credential.secret.get_secret_value(), "anthropic-version": API_VERSION}

    async def discover(self, credential: Credential) -> Discovery:
        workspaces = await self._list(credential, WORKSPACES, {"include_archived": "true"})
        keys = await self._list(credential, API_KEYS, {})
        accounts = [AccountInfo(DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_NAME, {"default": True})]
        accounts += [account(item) for item in workspaces]
        return Discovery(accounts, [project(item) for item in keys])

    async def collect(self, credential: Credential, period: Period) -> Collection:
        costs = await self._buckets(credential, COST_REPORT, period, COST_PARAMS)
        usage = await self._buckets(credential, USAGE_REPORT, period, USAGE_PARAMS)
        try:
            records = [billed(day, row) for day, row in costs] + [priced(day, row) for day, row in usage]
        except ValueError as exc:
            raise BadResponse(self.key, f"answered with {exc}", account=credential.label) from None
        log.debug("anthropic (%s): %d cost and %d usage rows", credential.label, len(costs), len(usage))
        notes = []
        if any(is_priority(row) for _, row in usage):
            notes.append(
                "Priority Tier is not in Anthropic's cost report: it is estimated from usage "
                "at list prices (genai-prices) and counted in totals."
            )
        return Collection(merge(records), notes=notes)

    async def _list(self, credential: Credential, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every page of a list endpoint (cursor: ``after_id`` = the previous page's ``last_id``)."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            cursor = {"after_id": after} if after else {}
            body = await self.get(credential, path, {**params, "limit": str(LIST_LIMIT), **cursor})
            page = self._data(body, path, credential)
            items += page
            if not body.get("has_more") or not page:
                return items
            after = str(body.get("last_id") or page[-1]["id"])

    async def _buckets(
        self, credential: Credential, path: str, period: Period, params: list[tuple[str, str]]
    ) -> list[tuple[date, dict[str, Any]]]:
        """Every result of every daily bucket in the period, following ``next_page``."""
        query = [
            ("starting_at", rfc3339(period.start_datetime)),
            ("ending_at", rfc3339(period.end_exclusive)),
            ("limit", str(MAX_DAYS)),
            *params,
        ]
        rows: list[tuple[date, dict[str, Any]]] = []
        page: str | None = None
        while True:
            body = await self.get(credential, path, query + ([("page", page)] if page else []))
            for bucket in self._data(body, path, credential):
                day = self._bucket_day(bucket, path, credential)
                if period.start <= day <= period.end:
                    rows += [(day, row) for row in bucket.get("results") or []]
            page = body.get("next_page")
            if not body.get("has_more") or not page:
                return rows

    def _data(self, body: Any, path: str, credential: Credential) -> list[dict[str, Any]]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise BadResponse(self.key, f"answered {path} without a data list", account=credential.label)
        return data

    def _bucket_day(self, bucket: dict[str, Any], path: str, credential: Credential) -> date:
        try:
            return datetime.fromisoformat(bucket["starting_at"]).astimezone(UTC).date()
        except (KeyError, TypeError, ValueError):
            raise BadResponse(
                self.key,
                f"answered {path} with a bucket without a valid starting_at",
                account=credential.label,
            ) from None


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account(workspace: dict[str, Any]) -> AccountInfo:
    meta = {k: workspace[k] for k in ("archived_at", "created_at", "display_color") if workspace.get(k)}
    return AccountInfo(str(workspace["id"]), str(workspace.get("name") or workspace["id"]), meta)


def project(key: dict[str, Any]) -> ProjectInfo:
    # partial_key_hint is left out on purpose: no part of a key is ever stored.
    status = key.get("status") or "active"
    meta = {k: key[k] for k in ("status", "created_at", "expires_at") if key.get(k)}
    return ProjectInfo(
        account=key.get("workspace_id") or DEFAULT_WORKSPACE,
        external_id=str(key["id"]),
        name=str(key.get("name") or key["id"]),
        kind="api_key",
        status="active" if status == "active" else "archived",
        meta=meta,
    )


def billed(day: date, row: dict[str, Any]) -> CostRecord:
    """A cost report line: ``amount`` is in cents, ``"123.78912"`` is USD 1.2378912."""
    return CostRecord(
        day=day,
        account=row.get("workspace_id") or DEFAULT_WORKSPACE,
        provenance=Provenance.BILLED,
        amount=decimal(row.get("amount")).scaleb(-2),
        currency=row.get("currency") or "USD",
        model=row.get("model") or "",
        line_item=cost_line_item(row),
        usage_extra={k: row[k] for k in COST_DETAILS if row.get(k) is not None},
        raw=row,
    )


def cost_line_item(row: dict[str, Any]) -> str:
    """The description, told apart from a same-named line of another cache TTL, tier or context window."""
    label = str(row.get("description") or row.get("cost_type") or "usage")
    tier = row.get("service_tier")
    qualifiers = ["1h"] if row.get("token_type") == CACHE_1H and "1h" not in label else []
    if tier and tier != "standard":
        qualifiers.append(f"{tier} tier")
    if row.get("context_window") == LONG_CONTEXT:
        qualifiers.append("long context")
    return f"{label} ({', '.join(qualifiers)})" if qualifiers else label


def is_priority(row: dict[str, Any]) -> bool:
    return row.get("service_tier") in PRIORITY_TIERS


def priced(day: date, row: dict[str, Any]) -> CostRecord:
    """A usage report line priced with genai-prices: counted for priority tier, informational otherwise."""
    tier = str(row.get("service_tier") or "standard")
    model = str(row.get("model") or "")
    counts = token_counts(row)
    rates = (
        unit_rates(model, day, row.get("context_window") == LONG_CONTEXT) if tier in PRICED_TIERS else None
    )
    label = "priority" if tier in PRIORITY_TIERS else tier
    uncached, read, write_5m, write_1h, output = counts
    common: dict[str, Any] = dict(
        day=day,
        account=row.get("workspace_id") or DEFAULT_WORKSPACE,
        project=row.get("api_key_id") or "",
        model=model,
        input_tokens=uncached + read + write_5m + write_1h,
        output_tokens=output,
        cached_input_tokens=read,
        cache_write_tokens=write_5m + write_1h,
        raw=row,
        in_total=is_priority(row),
        usage_extra={
            "uncached_input_tokens": uncached,
            "cache_write_5m_tokens": write_5m,
            "cache_write_1h_tokens": write_1h,
            "web_search_requests": web_searches(row),
        },
    )
    if rates is None:
        return CostRecord(
            provenance=Provenance.UNPRICED, amount=None, line_item=f"{label} tier (unpriced)", **common
        )
    per_token, estimate = rates
    return CostRecord(
        provenance=Provenance.ESTIMATED,
        amount=sum((r * n for r, n in zip(per_token, counts, strict=True)), Decimal(0)),
        currency=estimate.currency,
        line_item=f"{label} tier (estimated)",
        price_table=estimate.table,
        price_table_version=estimate.version,
        **common,
    )


@lru_cache(maxsize=4096)
def unit_rates(model: str, day: date, long_context: bool) -> tuple[tuple[Decimal, ...], Estimate] | None:
    """Price per token of (uncached input, cache read, 5m write, 1h write, output) for one request.

    genai-prices chooses a long-context tier from the input tokens it is given, so a day's total
    of many short requests would be priced as one long request. Prices are linear within a tier,
    so we price one request-sized probe per token type, on the side of 200k the report says.
    """
    size = LONG_PROBE if long_context else SHORT_PROBE
    probes = [
        TokenUsage(input_tokens=size),
        TokenUsage(input_tokens=size, cache_read_tokens=size),
        TokenUsage(input_tokens=size, cache_write_tokens=size),
        TokenUsage(input_tokens=size, cache_write_1h_tokens=size),
        TokenUsage(input_tokens=size, output_tokens=size),
    ]
    estimates = [e for e in (estimate_tokens("anthropic", model, p, day) for p in probes) if e is not None]
    if len(estimates) < len(probes):
        return None
    amounts = [e.amount for e in estimates]
    amounts[-1] -= amounts[0]  # the output probe also paid for its input
    return tuple(amount / size for amount in amounts), estimates[0]


def token_counts(row: dict[str, Any]) -> tuple[int, int, int, int, int]:
    cache = row.get("cache_creation") or {}
    return (
        integer(row.get("uncached_input_tokens")),
        integer(row.get("cache_read_input_tokens")),
        integer(cache.get("ephemeral_5m_input_tokens")),
        integer(cache.get("ephemeral_1h_input_tokens")),
        integer(row.get("output_tokens")),
    )


def web_searches(row: dict[str, Any]) -> int:
    return integer((row.get("server_tool_use") or {}).get("web_search_requests"))


def integer(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"a usage report count is not a whole number: {value!r}")
    return int(value)


def decimal(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if isinstance(value, str | int | float) else None
    except InvalidOperation:
        amount = None
    if amount is None or isinstance(value, bool) or not amount.is_finite():
        raise ValueError(f"a cost report amount is not a number: {value!r}")
    return amount


def merge(records: list[CostRecord]) -> list[CostRecord]:
    """Lines that share a ledger key (e.g. one model's short and long-context rows) become one."""
    merged: dict[tuple[Any, ...], CostRecord] = {}
    for record in records:
        key = (record.account, record.project, record.day, record.model, record.line_item, record.provenance)
        merged[key] = combine(merged[key], record) if key in merged else record
    return list(merged.values())


def combine(first: CostRecord, second: CostRecord) -> CostRecord:
    def add(a: Any, b: Any) -> Any:
        return None if a is None or b is None else a + b

    extra: dict[str, Any] = {}
    for name, value in first.usage_extra.items():
        other = second.usage_extra.get(name)
        if isinstance(value, int) and isinstance(other, int):
            extra[name] = value + other
        elif value == other:
            extra[name] = value
    return replace(
        first,
        amount=add(first.amount, second.amount),
        usage_extra=extra,
        input_tokens=add(first.input_tokens, second.input_tokens),
        output_tokens=add(first.output_tokens, second.output_tokens),
        cached_input_tokens=add(first.cached_input_tokens, second.cached_input_tokens),
        cache_write_tokens=add(first.cache_write_tokens, second.cache_write_tokens),
        raw={"merged_results": [*first.raw.get("merged_results", [first.raw]), second.raw]},
    )
