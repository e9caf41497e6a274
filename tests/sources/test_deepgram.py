"""The Deepgram source against its emulator: billed dollars, usage, balances, errors, secrecy."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.deepgram import DEMO_KEY, DeepgramData
from costtracker.errors import AuthenticationFailed, BadResponse, UpstreamUnavailable
from costtracker.http import error_message
from costtracker.sources.base import Collection, CostRecord, Period
from costtracker.store.models import Provenance
from tests.sources.conftest import Wiring

TODAY = date(2026, 3, 10)
FEBRUARY = Period.month(2026, 2)


def config(**extra: object) -> EmulatorConfig:
    return EmulatorConfig(extra={"today": TODAY, **extra})


async def collect(wiring: Wiring, period: Period = FEBRUARY) -> Collection:
    credential = wiring.source.credentials(wiring.source.settings)[0]
    return await wiring.source.collect(credential, period)


def data(wiring: Wiring) -> DeepgramData:
    dataset: DeepgramData = wiring.emulator.dataset
    return dataset


def total(records: list[CostRecord]) -> Decimal:
    return sum((r.amount for r in records if r.amount is not None and r.in_total), Decimal(0))


@pytest.fixture
def deepgram(wire: Callable[..., Wiring]) -> Callable[..., Wiring]:
    def build(**kwargs: object) -> Wiring:
        return wire("deepgram", **kwargs)

    return build


async def test_it_collects_a_months_billed_dollars_exactly(deepgram: Callable[..., Wiring]) -> None:
    wiring = deepgram(config=config())
    collection = await collect(wiring)
    assert total(collection.records) == data(wiring).total(FEBRUARY.start, FEBRUARY.end)
    assert all(r.provenance == Provenance.BILLED and r.currency == "USD" for r in collection.records)
    assert {r.day for r in collection.records} <= set(FEBRUARY.days())


async def test_it_splits_the_total_by_project_and_by_model(deepgram: Callable[..., Wiring]) -> None:
    wiring = deepgram(config=config())
    dataset = data(wiring)
    records = (await collect(wiring)).records
    projects = {r.project for r in records}
    assert projects == set(dataset.projects)
    for project in projects:
        expected = dataset.total(FEBRUARY.start, FEBRUARY.end, project=project)
        assert total([r for r in records if r.project == project]) == expected
    models = {r.model for r in records}
    assert models == {"nova-3", "whisper-large", "aura-2", "voice-agent-standard"}
    for model in models:
        expected = dataset.total(FEBRUARY.start, FEBRUARY.end, model=model)
        assert total([r for r in records if r.model == model]) == expected
    assert sum(total([r for r in records if r.model == m]) for m in models) == total(records)


async def test_it_attaches_audio_seconds_and_requests_from_the_usage_breakdown(
    deepgram: Callable[..., Wiring],
) -> None:
    wiring = deepgram(config=config())
    dataset = data(wiring)
    records = (await collect(wiring)).records
    seconds = sum((r.audio_seconds or Decimal(0) for r in records), Decimal(0))
    assert seconds == dataset.hours(FEBRUARY.start, FEBRUARY.end) * 3600
    assert sum(r.requests or 0 for r in records) == dataset.requests(FEBRUARY.start, FEBRUARY.end)
    nova = [r for r in records if r.model == "nova-3" and r.audio_seconds]
    assert (
        sum((r.audio_seconds or 0 for r in nova), Decimal(0))
        == dataset.hours(FEBRUARY.start, FEBRUARY.end, model="nova-3") * 3600
    )
    assert any(r.characters for r in records if r.model == "aura-2")


async def test_it_gives_each_line_its_own_key_in_the_ledger(deepgram: Callable[..., Wiring]) -> None:
    records = (await collect(deepgram(config=config(unbilled_usage=True)))).records
    keys = Counter((r.account, r.project, r.day, r.model, r.line_item, r.provenance) for r in records)
    assert max(keys.values()) == 1


async def test_it_keeps_the_billed_amount_of_a_model_it_has_never_heard_of(
    deepgram: Callable[..., Wiring],
) -> None:
    wiring = deepgram(config=config(unknown_model=True))
    records = (await collect(wiring)).records
    unknown = [r for r in records if r.model == "nova-99-lab"]
    assert unknown and all(r.provenance == Provenance.BILLED and r.amount for r in unknown)
    dataset = data(wiring)
    assert total(unknown) == dataset.total(FEBRUARY.start, FEBRUARY.end, model="nova-99-lab")
    assert total(records) == dataset.total(FEBRUARY.start, FEBRUARY.end)


async def test_it_keeps_usage_that_no_line_bills_as_unpriced_never_zero(
    deepgram: Callable[..., Wiring],
) -> None:
    wiring = deepgram(config=config(unbilled_usage=True))
    records = (await collect(wiring)).records
    orphans = [r for r in records if r.provenance == Provenance.UNPRICED]
    assert orphans and all(r.amount is None and r.audio_seconds for r in orphans)
    assert {r.line_item for r in orphans} == {"usage::nova-3-medical"}
    assert total(records) == data(wiring).total(FEBRUARY.start, FEBRUARY.end)


async def test_it_puts_balances_in_the_project_meta_not_in_the_costs(deepgram: Callable[..., Wiring]) -> None:
    wiring = deepgram(config=config())
    credential = wiring.source.credentials(wiring.source.settings)[0]
    discovery = await wiring.source.discover(credential)
    dataset = data(wiring)
    assert [a.external_id for a in discovery.accounts] == ["default"]
    assert {p.external_id: p.name for p in discovery.projects} == dataset.projects
    for project in discovery.projects:
        assert Decimal(project.meta["balances"][0]["amount"]) == dataset.balance(project.external_id)
    assert Decimal(discovery.accounts[0].meta["balances"]["USD"]) == sum(
        map(dataset.balance, dataset.projects)
    )
    assert not [r for r in (await collect(wiring)).records if "balance" in r.line_item]


async def test_it_reports_a_revoked_key_as_a_permanent_authentication_failure(
    deepgram: Callable[..., Wiring],
) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await collect(deepgram(config=EmulatorConfig(revoked_keys={DEMO_KEY})))
    assert caught.value.permanent
    assert "deepgram (default)" in str(caught.value)
    assert "Invalid credentials." in str(caught.value)
    assert DEMO_KEY not in str(caught.value)


async def test_it_waits_as_told_after_a_429_then_collects_once(deepgram: Callable[..., Wiring]) -> None:
    wiring = deepgram(config=EmulatorConfig(throttle_first=1, retry_after=2, extra={"today": TODAY}))
    records = (await collect(wiring)).records
    assert wiring.sleeps == [2]
    assert total(records) == data(wiring).total(FEBRUARY.start, FEBRUARY.end)


async def test_it_gives_up_on_a_server_that_always_fails(deepgram: Callable[..., Wiring]) -> None:
    wiring = deepgram(config=EmulatorConfig(always_status=500), max_retries=2)
    with pytest.raises(UpstreamUnavailable, match="server error 500") as caught:
        await collect(wiring)
    assert not caught.value.permanent
    assert len(wiring.sleeps) == 2


async def test_it_reports_a_body_that_is_not_json(deepgram: Callable[..., Wiring]) -> None:
    with pytest.raises(BadResponse, match="not JSON"):
        await collect(deepgram(config=EmulatorConfig(malformed=True)))


async def test_it_never_logs_nor_raises_the_key(
    deepgram: Callable[..., Wiring], caplog: pytest.LogCaptureFixture
) -> None:
    planted = "dg_planted_0123456789abcdef0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    await collect(deepgram(config=config(), DEEPGRAM_API_KEY=planted))
    with pytest.raises(AuthenticationFailed) as caught:
        await collect(deepgram(config=EmulatorConfig(revoked_keys={planted}), DEEPGRAM_API_KEY=planted))
    assert planted not in caplog.text
    assert planted not in str(caught.value)


def test_it_reads_both_documented_error_bodies() -> None:
    legacy = {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "r1"}
    modern = {
        "category": "INVALID_AUTH",
        "message": "Invalid credentials.",
        "details": "",
        "request_id": "r2",
    }
    for body in (legacy, modern):
        assert error_message(httpx.Response(401, json=body)) == "Invalid credentials."
