"""The Anthropic source against its emulator: exact billed money, priority-tier estimates, failures."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from costtracker.emulators.anthropic import NEBULA, SONNET, UsageRow
from costtracker.emulators.base import EmulatorConfig
from costtracker.errors import AuthenticationFailed, BadResponse, UpstreamUnavailable
from costtracker.prices import GENAI_PRICES, TokenUsage, estimate_tokens
from costtracker.settings import Settings
from costtracker.sources.anthropic import AnthropicSource, billed
from costtracker.sources.base import Collection, CostRecord, Discovery, Period
from costtracker.store.models import Provenance
from tests.sources.conftest import Wiring

MAY = Period.month(2025, 5)  # the Legacy workspace was archived on 2025-06-30: it still has usage
PLANTED = "sk-ant-admin01-PLANTED-must-never-show-4f9c1d7e2a"
COST_REPORT = "/v1/organizations/cost_report"
Wire = Callable[..., Wiring]


async def collect(wiring: Wiring, period: Period = MAY) -> Collection:
    source = wiring.source
    [credential] = source.credentials(source.settings)
    return await source.collect(credential, period)


async def discover(wiring: Wiring) -> Discovery:
    source = wiring.source
    [credential] = source.credentials(source.settings)
    return await source.discover(credential)


def of(collection: Collection, provenance: Provenance) -> list[CostRecord]:
    return [r for r in collection.records if r.provenance == provenance]


def total(records: list[CostRecord]) -> Decimal:
    return sum((r.amount for r in records if r.amount is not None), Decimal(0))


def tokens(rows: list[UsageRow]) -> tuple[int, int]:
    inputs = sum(
        r.uncached_input_tokens + r.cache_read_input_tokens + r.cache_write_5m + r.cache_write_1h
        for r in rows
    )
    return inputs, sum(r.output_tokens for r in rows)


def request_sized(row: UsageRow) -> list[TokenUsage]:
    """The row cut into parts of under 200k input tokens each, as its short requests were."""
    counts = (
        row.uncached_input_tokens,
        row.cache_read_input_tokens,
        row.cache_write_5m,
        row.cache_write_1h,
        row.output_tokens,
    )
    parts = -(-sum(counts[:4]) // 190_000)
    split = [[count // parts + (i < count % parts) for i in range(parts)] for count in counts]
    return [
        TokenUsage(
            input_tokens=u + r + w5 + w1,
            cache_read_tokens=r,
            cache_write_tokens=w5,
            cache_write_1h_tokens=w1,
            output_tokens=o,
        )
        for u, r, w5, w1, o in zip(*split, strict=True)
    ]


def whole(row: UsageRow) -> TokenUsage:
    """The row as one request (right for long-context rows: every request was over 200k)."""
    return TokenUsage(
        input_tokens=tokens([row])[0],
        cache_read_tokens=row.cache_read_input_tokens,
        cache_write_tokens=row.cache_write_5m,
        cache_write_1h_tokens=row.cache_write_1h,
        output_tokens=row.output_tokens,
    )


def estimate(model: str, usage: TokenUsage, day: date) -> Decimal:
    result = estimate_tokens("anthropic", model, usage, day)
    assert result is not None
    return result.amount


async def test_it_collects_a_months_billed_total_exactly_across_pages(wire: Wire) -> None:
    wiring = wire("anthropic", config=EmulatorConfig(page_size=7))

    collection = await collect(wiring)

    assert total(of(collection, Provenance.BILLED)) == wiring.emulator.dataset.billed_total(
        MAY.start, MAY.end
    )
    assert wiring.emulator.stats.by_path[COST_REPORT] == 5  # 31 days in pages of 7 buckets
    assert collection.complete


async def test_it_breaks_billed_money_down_by_model_and_workspace_exactly(wire: Wire) -> None:
    wiring = wire("anthropic")
    dataset = wiring.emulator.dataset

    records = of(await collect(wiring), Provenance.BILLED)

    by_model: dict[str, Decimal] = {}
    by_workspace: dict[str, Decimal] = {}
    for record in records:
        assert record.amount is not None
        by_model[record.model] = by_model.get(record.model, Decimal(0)) + record.amount
        by_workspace[record.account] = by_workspace.get(record.account, Decimal(0)) + record.amount
    expected_workspaces = {
        k or "default": v for k, v in dataset.billed_by_workspace(MAY.start, MAY.end).items()
    }
    assert by_model == dataset.billed_by_model(MAY.start, MAY.end)
    assert by_workspace == expected_workspaces
    assert sum(by_model.values()) == sum(by_workspace.values()) == dataset.billed_total(MAY.start, MAY.end)


def test_it_reads_cost_report_amounts_as_decimal_cents() -> None:
    row = {
        "amount": "123.78912",
        "currency": "USD",
        "description": "Claude Sonnet 4 Usage - Input Tokens",
        "cost_type": "tokens",
        "model": "claude-sonnet-4-20250514",
        "token_type": "uncached_input_tokens",
        "service_tier": "standard",
        "context_window": "0-200k",
        "workspace_id": None,
    }

    record = billed(date(2025, 8, 1), row)

    assert record.amount == Decimal("1.2378912")
    assert (record.currency, record.account, record.model) == ("USD", "default", "claude-sonnet-4-20250514")
    assert record.usage_extra["token_type"] == "uncached_input_tokens"


async def test_it_names_the_null_workspace_default_workspace(wire: Wire) -> None:
    wiring = wire("anthropic")

    discovery = await discover(wiring)
    collection = await collect(wiring)

    accounts = {a.external_id: a.name for a in discovery.accounts}
    assert accounts["default"] == "Default workspace"
    null_rows = [
        r for r in collection.records if r.provenance == Provenance.BILLED and not r.raw["workspace_id"]
    ]
    assert null_rows and {r.account for r in null_rows} == {"default"}
    default_key = next(p for p in discovery.projects if p.name == "default-key")
    assert default_key.account == "default"
    assert {r.account for r in collection.records} <= set(accounts)


async def test_it_discovers_every_workspace_archived_too_and_every_key_across_pages(wire: Wire) -> None:
    wiring = wire("anthropic", config=EmulatorConfig(page_size=2))
    dataset = wiring.emulator.dataset

    discovery = await discover(wiring)

    assert [a.external_id for a in discovery.accounts] == ["default", *(w["id"] for w in dataset.workspaces)]
    legacy = next(a for a in discovery.accounts if a.name == "Legacy")
    assert legacy.meta["archived_at"].startswith("2025-06-30")
    assert [p.external_id for p in discovery.projects] == [k["id"] for k in dataset.api_keys]
    assert {p.kind for p in discovery.projects} == {"api_key"}
    statuses = {p.name: p.status for p in discovery.projects}
    assert statuses["prod-backend"] == "active" and statuses["old-intern-key"] == "archived"
    assert "sk-ant" not in repr(discovery)  # the keys' partial hints are not kept
    assert wiring.emulator.stats.by_path["/v1/organizations/workspaces"] == 2


async def test_it_counts_priority_tier_as_an_estimate_and_not_standard_estimates(wire: Wire) -> None:
    wiring = wire("anthropic")
    dataset = wiring.emulator.dataset

    collection = await collect(wiring)

    priority = [r for r in collection.records if r.line_item == "priority tier (estimated)"]
    standard = [r for r in collection.records if r.line_item == "standard tier (estimated)"]
    assert priority and standard
    assert all(r.provenance == Provenance.ESTIMATED and r.in_total for r in priority)
    assert all(r.price_table == GENAI_PRICES and r.price_table_version for r in priority)
    assert all(r.provenance == Provenance.ESTIMATED and not r.in_total for r in standard)
    assert {r.project for r in standard} >= {k["id"] for k in dataset.api_keys if k["name"] == "prod-backend"}
    priced_rows = [
        r for r in dataset.usage_rows(MAY.start, MAY.end, service_tier="priority") if r.model != NEBULA
    ]
    assert (
        sum(r.input_tokens or 0 for r in priority),
        sum(r.output_tokens or 0 for r in priority),
    ) == tokens(priced_rows)
    assert any("Priority Tier" in note for note in collection.notes)


async def test_it_prices_usage_per_request_tier_not_as_one_long_request_a_day(wire: Wire) -> None:
    wiring = wire("anthropic")
    rows = [
        r
        for r in wiring.emulator.dataset.usage_rows(MAY.start, MAY.end, service_tier="priority")
        if r.model == SONNET
    ]

    collection = await collect(wiring)

    got = total([r for r in of(collection, Provenance.ESTIMATED) if r.in_total and r.model == SONNET])
    expected = sum(
        (
            estimate(SONNET, part, row.day)
            for row in rows
            for part in (request_sized(row) if row.context_window == "0-200k" else [whole(row)])
        ),
        Decimal(0),
    )
    naive = sum((estimate(SONNET, whole(row), row.day) for row in rows), Decimal(0))
    assert {r.context_window for r in rows} == {"0-200k", "200k-1M"}
    assert got == expected
    assert got < naive  # a day's total priced as one request would cross the 200k tier


async def test_it_keeps_an_unknown_models_usage_unpriced_not_zero(wire: Wire) -> None:
    wiring = wire("anthropic")
    dataset = wiring.emulator.dataset

    collection = await collect(wiring)

    unknown = [r for r in collection.records if r.model == NEBULA]
    priority = [r for r in unknown if r.line_item == "priority tier (unpriced)"]
    assert priority and all(
        r.provenance == Provenance.UNPRICED and r.amount is None and r.in_total for r in priority
    )
    assert (
        sum(r.input_tokens or 0 for r in priority),
        sum(r.output_tokens or 0 for r in priority),
    ) == tokens(
        [r for r in dataset.usage_rows(MAY.start, MAY.end, service_tier="priority") if r.model == NEBULA]
    )
    assert all(not r.in_total for r in unknown if r.line_item == "standard tier (unpriced)")
    assert (
        total([r for r in unknown if r.provenance == Provenance.BILLED])
        == dataset.billed_by_model(MAY.start, MAY.end)[NEBULA]
    )  # Anthropic bills it: the billed amount is kept


async def test_it_gives_each_line_its_own_ledger_key(wire: Wire) -> None:
    wiring = wire("anthropic")

    records = (await collect(wiring)).records

    keys = [(r.account, r.project, r.day, r.model, r.line_item, r.provenance) for r in records]
    bill = [r for r in records if r.provenance == Provenance.BILLED]
    assert len(keys) == len(set(keys))
    # 5m and 1h cache writes share a description, long-context lines share the short ones' one
    one_hour = [
        r for r in bill if r.usage_extra.get("token_type") == "cache_creation.ephemeral_1h_input_tokens"
    ]
    assert one_hour and all(
        r.line_item.endswith("Cache Write (1h)") for r in one_hour if "long" not in r.line_item
    )
    assert any(r.line_item.endswith("(1h, long context)") for r in one_hour)
    assert all("merged_results" not in r.raw for r in bill)  # every billed line kept its own token type
    assert any("merged_results" in r.raw for r in records)  # one key's short and long-context usage rows


async def test_it_refuses_a_revoked_key_with_a_permanent_error_naming_the_workspace(wire: Wire) -> None:
    wiring = wire("anthropic", config=EmulatorConfig(revoked_keys={PLANTED}), ANTHROPIC_ADMIN_KEY=PLANTED)

    with pytest.raises(AuthenticationFailed) as caught:
        await collect(wiring)

    assert caught.value.permanent
    assert "anthropic (default)" in str(caught.value) and "invalid x-api-key" in str(caught.value)
    assert PLANTED not in str(caught.value)


async def test_it_honours_retry_after_and_collects_once(wire: Wire) -> None:
    wiring = wire("anthropic", config=EmulatorConfig(throttle_first=1, retry_after=7))
    clean = await collect(wire("anthropic"))

    collection = await collect(wiring)

    assert wiring.sleeps == [7.0]
    assert len(collection.records) == len(clean.records)
    assert total(of(collection, Provenance.BILLED)) == wiring.emulator.dataset.billed_total(
        MAY.start, MAY.end
    )


async def test_it_gives_up_on_constant_server_errors_with_the_reason(wire: Wire) -> None:
    wiring = wire("anthropic", config=EmulatorConfig(always_status=500), max_retries=2)

    with pytest.raises(UpstreamUnavailable) as caught:
        await collect(wiring)

    assert "server error 500" in str(caught.value) and "injected failure" in str(caught.value)
    assert not caught.value.permanent
    assert wiring.emulator.stats.requests == 3


async def test_it_reports_a_body_that_is_not_json(wire: Wire) -> None:
    wiring = wire("anthropic", config=EmulatorConfig(malformed=True))

    with pytest.raises(BadResponse, match="not JSON"):
        await collect(wiring)


async def test_it_reports_an_amount_that_is_not_a_number(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    wiring = wire("anthropic")
    dataset = wiring.emulator.dataset
    original = dataset.cost_results

    def broken(day: date, groups: list[str]) -> list[dict[str, Any]]:
        return [{**row, "amount": "twelve"} for row in original(day, groups)]

    monkeypatch.setattr(dataset, "cost_results", broken)

    with pytest.raises(BadResponse, match=r"anthropic \(default\).*'twelve'"):
        await collect(wiring)


async def test_it_never_shows_the_key_in_logs_errors_or_records(
    wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wiring = wire("anthropic", config=EmulatorConfig(throttle_first=1), ANTHROPIC_ADMIN_KEY=PLANTED)
    revoked = wire("anthropic", config=EmulatorConfig(revoked_keys={PLANTED}), ANTHROPIC_ADMIN_KEY=PLANTED)

    collection = await collect(wiring)
    discovery = await discover(wiring)
    with pytest.raises(AuthenticationFailed) as caught:
        await discover(revoked)

    assert collection.records
    stored = json.dumps(
        [r.raw for r in collection.records] + [r.usage_extra for r in collection.records], default=str
    )
    for text in (caplog.text, str(caught.value), repr(caught.value), stored, repr(discovery)):
        assert PLANTED not in text


def test_it_uses_the_seed_api_key_only_when_it_is_an_admin_key(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    inference_key = "sk-ant-api03-PLANTED-inference-key-5b8e0a"
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED)
    assert [c.secret.get_secret_value() for c in AnthropicSource.credentials(make_settings())] == [PLANTED]

    monkeypatch.setenv("ANTHROPIC_API_KEY", inference_key)
    settings = make_settings()

    problem = AnthropicSource.configuration_problem(settings)
    assert AnthropicSource.credentials(settings) == []
    assert problem is not None and "ANTHROPIC_API_KEY" in problem and "Admin API key" in problem
    assert inference_key not in problem


def test_it_prefers_the_admin_key_and_has_nothing_to_say_when_unconfigured(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert AnthropicSource.credentials(make_settings()) == []
    assert AnthropicSource.configuration_problem(make_settings()) is None

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-an-inference-key-for-the-app")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", PLANTED)

    assert [c.secret.get_secret_value() for c in AnthropicSource.credentials(make_settings())] == [PLANTED]
    assert AnthropicSource.configuration_problem(make_settings()) is None
