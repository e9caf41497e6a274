"""The OpenAI source against its emulator: exact billed totals, estimates beside them, failures named."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.openai import DEMO_ENV, DEMO_KEYS, UNKNOWN_MODEL
from costtracker.errors import AuthenticationFailed, BadResponse, UpstreamUnavailable
from costtracker.http import Http
from costtracker.settings import Settings
from costtracker.sources.base import Collection, CostRecord, Credential, Period
from costtracker.sources.openai import OpenAISource, model_of, slug
from costtracker.store.models import Provenance
from tests.sources.conftest import Wiring

MAY = Period.month(2025, 5)  # before the demo's archived projects were archived
EDUGAMI_KEY = DEMO_ENV["OPENAI_ADMIN_KEY_EDUGAMI"]
PLANTED = "sk-admin-PLANTED-canary-7c41d2e9b0a3f518"


def credential(wiring: Wiring, label: str = "Edugami") -> Credential:
    return next(c for c in wiring.source.credentials(wiring.source.settings) if c.label == label)


def billed(collection: Collection) -> list[CostRecord]:
    return [r for r in collection.records if r.provenance == Provenance.BILLED]


def total(records: list[CostRecord]) -> Decimal:
    return sum((r.amount for r in records if r.amount is not None), Decimal(0))


def by(records: list[CostRecord], attribute: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        assert record.amount is not None
        sums[getattr(record, attribute)] += record.amount
    return dict(sums)


async def test_it_collects_a_months_billed_total_exactly_across_several_pages(
    wire: Callable[..., Wiring],
) -> None:
    wiring = wire("openai", config=EmulatorConfig(page_size=8))
    collection = await wiring.source.collect(credential(wiring), MAY)
    expected = wiring.emulator.dataset.billed_total(MAY.start, MAY.end, "edugami")
    assert total(billed(collection)) == expected
    assert expected > 0
    assert wiring.emulator.stats.by_path["/v1/organization/costs"] == 4  # 31 daily buckets, 8 per page
    assert all(r.currency == "USD" and r.account == "edugami" for r in billed(collection))


async def test_it_breaks_the_bill_down_per_model_and_per_project_summing_to_the_total(
    wire: Callable[..., Wiring],
) -> None:
    wiring = wire("openai")
    dataset = wiring.emulator.dataset
    lines = billed(await wiring.source.collect(credential(wiring), MAY))
    assert by(lines, "model") == dataset.billed_by_model(MAY.start, MAY.end, "edugami")
    assert by(lines, "project") == dataset.billed_by_project(MAY.start, MAY.end, "edugami")
    assert sum(by(lines, "model").values()) == sum(by(lines, "project").values()) == total(lines)


async def test_it_keeps_usage_estimates_beside_the_bill_never_in_the_total(
    wire: Callable[..., Wiring],
) -> None:
    wiring = wire("openai")
    collection = await wiring.source.collect(credential(wiring), MAY)
    estimates = [r for r in collection.records if r.provenance == Provenance.ESTIMATED]
    gpt4o = [r for r in estimates if r.model == "gpt-4o-mini-2024-07-18" or r.model == "gpt-4o-2024-08-06"]
    assert estimates and gpt4o
    assert not any(r.in_total for r in collection.records if r.provenance != Provenance.BILLED)
    assert all(r.price_table == "genai-prices" and r.price_table_version for r in estimates)
    assert all(r.input_tokens and r.cached_input_tokens is not None for r in gpt4o)


async def test_it_keeps_usage_of_an_unknown_model_as_unpriced_not_zero(wire: Callable[..., Wiring]) -> None:
    wiring = wire("openai")
    collection = await wiring.source.collect(credential(wiring), MAY)
    unknown = [r for r in collection.records if r.model == UNKNOWN_MODEL and r.line_item == "completions"]
    expected = wiring.emulator.dataset.usage_total(
        MAY.start, MAY.end, "completions", "input_tokens", workspace="edugami", model=UNKNOWN_MODEL
    )
    assert unknown and all(r.provenance == Provenance.UNPRICED and r.amount is None for r in unknown)
    assert sum(r.input_tokens or 0 for r in unknown) == expected > 0
    assert by(billed(collection), "model")[UNKNOWN_MODEL] > 0  # OpenAI still bills it: the bill is kept


async def test_it_keeps_speech_characters_and_storage_bytes_that_no_table_prices(
    wire: Callable[..., Wiring],
) -> None:
    wiring = wire("openai")
    dataset = wiring.emulator.dataset
    collection = await wiring.source.collect(credential(wiring), MAY)
    speech = [r for r in collection.records if r.line_item == "audio_speeches"]
    storage = [r for r in collection.records if r.line_item == "vector_stores"]
    assert all(r.provenance == Provenance.UNPRICED for r in speech + storage)
    characters = dataset.usage_total(MAY.start, MAY.end, "audio_speeches", "characters", workspace="edugami")
    stored = dataset.usage_total(MAY.start, MAY.end, "vector_stores", "usage_bytes", workspace="edugami")
    assert sum(r.characters or 0 for r in speech) == characters > 0
    assert sum(r.usage_extra["usage_bytes"] for r in storage) == stored > 0


async def test_it_lets_estimates_stand_in_for_days_the_costs_api_has_not_reached(
    wire: Callable[..., Wiring],
) -> None:
    extra = {"today": date(2025, 5, 20), "costs_lag_days": 2}
    wiring = wire("openai", config=EmulatorConfig(extra=extra))
    collection = await wiring.source.collect(credential(wiring), MAY)
    standing_in = {r.day for r in collection.records if r.in_total and r.provenance != Provenance.BILLED}
    assert total(billed(collection)) == wiring.emulator.dataset.billed_total(MAY.start, MAY.end, "edugami")
    assert max(r.day for r in billed(collection)) == date(2025, 5, 18)
    assert standing_in == {date(2025, 5, 19), date(2025, 5, 20)}
    assert any("2025-05-19..2025-05-20" in note for note in collection.notes)


async def test_it_gives_each_workspace_its_own_account(wire: Callable[..., Wiring]) -> None:
    wiring = wire("openai")
    dataset = wiring.emulator.dataset
    for label in ("Edugami", "Memoways"):
        found = await wiring.source.discover(credential(wiring, label))
        collection = await wiring.source.collect(credential(wiring, label), MAY)
        assert [(a.external_id, a.name) for a in found.accounts] == [(slug(label), label)]
        assert {r.account for r in collection.records} == {slug(label)}
        assert total(billed(collection)) == dataset.billed_total(MAY.start, MAY.end, slug(label))
    assert dataset.billed_total(MAY.start, MAY.end, "edugami") != dataset.billed_total(
        MAY.start, MAY.end, "memoways"
    )


async def test_it_discovers_archived_projects_on_every_page(wire: Callable[..., Wiring]) -> None:
    config = EmulatorConfig(page_size=2, extra={"projects_per_workspace": 5})
    wiring = wire("openai", config=config)
    found = await wiring.source.discover(credential(wiring))
    expected = wiring.emulator.dataset.projects("edugami")
    assert [p.external_id for p in found.projects] == [p.id for p in expected]
    assert [p.status for p in found.projects].count("archived") == 1
    assert all(p.account == "edugami" for p in found.projects)


async def test_it_reports_a_revoked_key_as_a_permanent_failure_naming_the_workspace(
    wire: Callable[..., Wiring],
) -> None:
    wiring = wire("openai", config=EmulatorConfig(revoked_keys={EDUGAMI_KEY}))
    with pytest.raises(AuthenticationFailed) as caught:
        await wiring.source.collect(credential(wiring), MAY)
    assert caught.value.permanent
    assert "openai" in str(caught.value) and "Edugami" in str(caught.value)
    assert EDUGAMI_KEY not in str(caught.value)


async def test_it_honours_retry_after_and_collects_once(wire: Callable[..., Wiring]) -> None:
    wiring = wire("openai", config=EmulatorConfig(throttle_first=1, retry_after=3))
    collection = await wiring.source.collect(credential(wiring), MAY)
    assert 3 in wiring.sleeps
    assert total(billed(collection)) == wiring.emulator.dataset.billed_total(MAY.start, MAY.end, "edugami")
    assert wiring.emulator.stats.statuses == {429: 1}


async def test_it_gives_up_on_a_failing_server_with_the_reason(wire: Callable[..., Wiring]) -> None:
    wiring = wire("openai", config=EmulatorConfig(always_status=500))
    with pytest.raises(UpstreamUnavailable) as caught:
        await wiring.source.collect(credential(wiring), MAY)
    assert "server error 500" in str(caught.value) and "Edugami" in str(caught.value)
    assert not caught.value.permanent
    assert len(wiring.sleeps) >= 3


async def test_it_reports_a_body_that_is_not_json(wire: Callable[..., Wiring]) -> None:
    wiring = wire("openai", config=EmulatorConfig(malformed=True))
    with pytest.raises(BadResponse, match="not JSON"):
        await wiring.source.discover(credential(wiring))


async def test_it_never_shows_the_key_in_logs_errors_or_records(
    wire: Callable[..., Wiring], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = EmulatorConfig(extra={"keys": {PLANTED: "edugami"}})
    wiring = wire("openai", config=config, OPENAI_ADMIN_KEY_EDUGAMI=PLANTED)
    collection = await wiring.source.collect(credential(wiring), Period(date(2025, 5, 1), date(2025, 5, 3)))
    config.revoked_keys.add(PLANTED)
    with pytest.raises(AuthenticationFailed) as caught:
        await wiring.source.discover(credential(wiring))
    assert collection.records
    assert PLANTED not in caplog.text
    assert PLANTED not in str(caught.value) and PLANTED not in repr(caught.value.args)
    assert PLANTED not in repr(collection.records)


def answering(body: dict[str, Any], make_settings: Callable[..., Settings]) -> OpenAISource:
    """The source against a one-off transport that answers every request with ``body``."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    return OpenAISource(make_settings(), Http("openai", "http://openai.test", transport=transport))


ONE_DAY = Period(date(2025, 5, 1), date(2025, 5, 1))
LONE = Credential("Edugami", SecretStr(PLANTED))


async def test_it_refuses_a_page_that_promises_more_without_a_cursor(
    make_settings: Callable[..., Settings],
) -> None:
    source = answering({"object": "page", "data": [], "has_more": True, "next_page": None}, make_settings)
    async with source.http:
        with pytest.raises(BadResponse, match="no new next_page") as caught:
            await source.collect(LONE, ONE_DAY)
    assert "Edugami" in str(caught.value)


async def test_it_refuses_a_cost_without_an_amount(make_settings: Callable[..., Settings]) -> None:
    bucket = {
        "object": "bucket",
        "start_time": 1746057600,
        "end_time": 1746144000,
        "results": [{"object": "organization.costs.result", "line_item": "gpt-4o, input"}],
    }
    source = answering(
        {"object": "page", "data": [bucket], "has_more": False, "next_page": None}, make_settings
    )
    async with source.http:
        with pytest.raises(BadResponse, match="2025-05-01 has no amount"):
            await source.collect(LONE, ONE_DAY)


def test_it_makes_one_credential_per_workspace_from_every_key_form(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY_MY_LAB", "sk-admin-lab-0000000000000000")
    monkeypatch.setenv("OPENAI_API_KEY_EDUGAMI", "sk-admin-seed-0000000000000000")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-single-000000000000000")
    credentials = OpenAISource.credentials(make_settings())
    assert [c.label for c in credentials] == ["Edugami", "My Lab", "default"]
    assert [slug(c.label) for c in credentials] == ["edugami", "my-lab", "default"]


def test_it_is_not_configured_without_any_openai_key(make_settings: Callable[..., Settings]) -> None:
    assert OpenAISource.credentials(make_settings()) == []


@pytest.mark.parametrize(
    ("line_item", "model"),
    [
        ("gpt-4o-2024-08-06, input", "gpt-4o-2024-08-06"),
        ("ft:gpt-4o-mini-2024-07-18:acme::x1, cached input", "ft:gpt-4o-mini-2024-07-18:acme::x1"),
        ("web search tool calls", ""),
        ("Assistants API | file search, storage", ""),
        ("", ""),
    ],
)
def test_it_reads_the_model_a_billed_line_item_names(line_item: str, model: str) -> None:
    assert model_of(line_item) == model


def test_it_configures_the_demo_with_recognisable_admin_keys() -> None:
    assert len(DEMO_ENV) == 3 and set(DEMO_ENV.values()) == set(DEMO_KEYS)
    assert all(key.startswith("sk-admin-") and len(key) >= 20 for key in DEMO_ENV.values())
