"""The ElevenLabs source against its emulator: the plan share formula, overage, errors, secrecy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.elevenlabs import DEMO_KEY, ElevenLabsData
from costtracker.errors import AuthenticationFailed, BadResponse, UpstreamUnavailable
from costtracker.prices import UNIT_PRICES, unit_price, unit_prices_version
from costtracker.sources.base import Collection, CostRecord, Period
from costtracker.sources.elevenlabs import parse_plan, parse_series
from costtracker.store.models import Provenance
from costtracker.store.types import quantize_money
from tests.sources.conftest import Wiring

TODAY = date(2026, 3, 10)  # the current credit cycle runs 2026-02-17 .. 2026-03-16 (anchor day 17)
FEBRUARY = Period.month(2026, 2)
JANUARY = Period.month(2026, 1)


def config(**extra: object) -> EmulatorConfig:
    return EmulatorConfig(extra={"today": TODAY, **extra})


async def collect(wiring: Wiring, period: Period) -> Collection:
    credential = wiring.source.credentials(wiring.source.settings)[0]
    return await wiring.source.collect(credential, period)


def data(wiring: Wiring) -> ElevenLabsData:
    dataset: ElevenLabsData = wiring.emulator.dataset
    return dataset


def shares(collection: Collection) -> list[CostRecord]:
    return [record for record in collection.records if record.line_item == "plan share"]


def total(records: list[CostRecord]) -> Decimal:
    return sum((record.amount for record in records if record.amount is not None), Decimal(0))


def documented_formula(dataset: ElevenLabsData, period: Period, model: str | None = None) -> Decimal:
    """docs/providers/elevenlabs.md: credits x monthly price / divisor, each line rounded to 10^-9."""
    price = unit_price("elevenlabs", f"plan:{dataset.tier}", period.start)
    assert price is not None
    cycle_start, reset = dataset.cycle
    amount = Decimal(0)
    for day in period.days():
        current = cycle_start <= day < reset
        divisor = max(dataset.limit, dataset.character_count) if current else dataset.limit
        for name, (_, credits) in dataset.usage(day).items():
            if model in (None, name):
                amount += quantize_money(credits * price.price / divisor)
    return amount


@pytest.fixture
def elevenlabs(wire: Callable[..., Wiring]) -> Callable[..., Wiring]:
    def build(**kwargs: object) -> Wiring:
        return wire("elevenlabs", **kwargs)

    return build


async def test_it_estimates_a_month_exactly_as_the_documented_formula(
    elevenlabs: Callable[..., Wiring],
) -> None:
    wiring = elevenlabs(config=config())
    collection = await collect(wiring, JANUARY)
    assert total(shares(collection)) == documented_formula(data(wiring), JANUARY)
    assert all(r.provenance == Provenance.ESTIMATED and not r.in_total for r in shares(collection))


async def test_a_month_costs_the_plan_price_used_or_not(elevenlabs: Callable[..., Wiring]) -> None:
    wiring = elevenlabs(config=config())
    collection = await collect(wiring, JANUARY)
    price = unit_price("elevenlabs", f"plan:{data(wiring).tier}", JANUARY.start)
    assert price is not None
    subscription = [r for r in collection.records if r.line_item.startswith("subscription")]
    assert len(subscription) == 31 and all(
        r.in_total and r.provenance == Provenance.ESTIMATED for r in subscription
    )
    assert total(subscription) == price.price
    counted = [r for r in collection.records if r.in_total and r.line_item != "overage"]
    assert total(counted) == price.price


async def test_a_partial_month_costs_its_days_share_of_the_plan(elevenlabs: Callable[..., Wiring]) -> None:
    wiring = elevenlabs(config=config())
    first_ten = Period(JANUARY.start, JANUARY.start.replace(day=10))
    collection = await collect(wiring, first_ten)
    price = unit_price("elevenlabs", f"plan:{data(wiring).tier}", JANUARY.start)
    assert price is not None
    subscription = [r for r in collection.records if r.line_item.startswith("subscription")]
    assert total(subscription) == quantize_money(price.price * 10 / 31)


async def test_it_caps_the_current_cycle_at_the_plan_price_when_it_is_in_overage(
    elevenlabs: Callable[..., Wiring],
) -> None:
    wiring = elevenlabs(config=config(volume=3))
    dataset = data(wiring)
    assert dataset.character_count > dataset.limit
    collection = await collect(wiring, FEBRUARY)
    assert total(shares(collection)) == documented_formula(dataset, FEBRUARY)
    cycle = await collect(wiring, Period(dataset.cycle[0], TODAY))
    plan_price = Decimal(22)
    assert abs(total(shares(cycle)) - plan_price) < Decimal("0.000001")


async def test_it_adds_the_billed_overage_on_the_first_day_of_the_current_cycle(
    elevenlabs: Callable[..., Wiring],
) -> None:
    wiring = elevenlabs(config=config(volume=3))
    dataset = data(wiring)
    overage = [r for r in (await collect(wiring, FEBRUARY)).records if r.line_item == "overage"]
    assert len(overage) == 1
    assert overage[0].day == dataset.cycle[0] == date(2026, 2, 17)
    assert overage[0].amount == dataset.overage > 0
    assert (overage[0].provenance, overage[0].currency, overage[0].in_total) == (
        Provenance.BILLED,
        "USD",
        True,
    )
    earlier = await collect(wiring, JANUARY)
    assert not [r for r in earlier.records if r.line_item == "overage"]


async def test_it_splits_by_model_with_the_emulators_credits_and_characters(
    elevenlabs: Callable[..., Wiring],
) -> None:
    wiring = elevenlabs(config=config())
    dataset = data(wiring)
    collection = await collect(wiring, JANUARY)
    models = {r.model for r in shares(collection)}
    assert len(models) == 4
    for model in models:
        lines = [r for r in shares(collection) if r.model == model]
        assert total(lines) == documented_formula(dataset, JANUARY, model)
        assert sum(r.characters or 0 for r in lines) == dataset.characters(JANUARY.start, JANUARY.end, model)
        credits = sum(Decimal(r.usage_extra["credits"]) for r in lines)
        assert credits == dataset.credits(JANUARY.start, JANUARY.end, model)
    assert sum(documented_formula(dataset, JANUARY, m) for m in models) == total(shares(collection))


async def test_it_names_the_price_table_and_its_version(elevenlabs: Callable[..., Wiring]) -> None:
    collection = await collect(elevenlabs(config=config()), JANUARY)
    record = shares(collection)[0]
    assert (record.price_table, record.price_table_version) == (UNIT_PRICES, unit_prices_version())
    assert record.raw["price_source"].startswith("https://elevenlabs.io/")


async def test_it_keeps_the_usage_unpriced_for_a_tier_without_a_price(
    elevenlabs: Callable[..., Wiring],
) -> None:
    wiring = elevenlabs(config=config(tier="enterprise"))
    collection = await collect(wiring, JANUARY)
    assert shares(collection)
    assert all(r.provenance == Provenance.UNPRICED and r.amount is None for r in shares(collection))
    characters = sum(r.characters or 0 for r in shares(collection))
    assert characters == data(wiring).characters(JANUARY.start, JANUARY.end) > 0
    assert "enterprise" in collection.notes[0]


def test_it_reads_usage_times_as_milliseconds_and_the_reset_as_seconds() -> None:
    spec_example = {"time": [1738252091000, 1739404800000], "usage": {"All": [49, 1053]}}
    series = parse_series(spec_example, Period(date(2025, 1, 1), date(2025, 2, 28)))
    assert series == {(date(2025, 1, 30), "All"): Decimal(49), (date(2025, 2, 13), "All"): Decimal(1053)}
    plan = parse_plan(
        {
            "tier": "starter",
            "character_count": 1000,
            "character_limit": 10000,
            "next_character_count_reset_unix": 1738356858,
        }
    )
    assert (plan.reset, plan.cycle_start) == (date(2025, 1, 31), date(2024, 12, 31))


async def test_it_reports_a_revoked_key_as_a_permanent_authentication_failure(
    elevenlabs: Callable[..., Wiring],
) -> None:
    wiring = elevenlabs(config=EmulatorConfig(revoked_keys={DEMO_KEY}))
    with pytest.raises(AuthenticationFailed) as caught:
        await collect(wiring, JANUARY)
    assert caught.value.permanent
    assert "elevenlabs (default)" in str(caught.value)
    assert "Invalid API key" in str(caught.value)
    assert DEMO_KEY not in str(caught.value)


async def test_it_waits_as_told_after_a_429_then_collects_once(elevenlabs: Callable[..., Wiring]) -> None:
    wiring = elevenlabs(config=EmulatorConfig(throttle_first=1, retry_after=3, extra={"today": TODAY}))
    collection = await collect(wiring, JANUARY)
    assert wiring.sleeps == [3]
    assert total(shares(collection)) == documented_formula(data(wiring), JANUARY)
    assert len({(r.day, r.model) for r in shares(collection)}) == len(shares(collection))


async def test_it_gives_up_on_a_server_that_always_fails(elevenlabs: Callable[..., Wiring]) -> None:
    wiring = elevenlabs(config=EmulatorConfig(always_status=500), max_retries=2)
    with pytest.raises(UpstreamUnavailable, match="server error 500") as caught:
        await collect(wiring, JANUARY)
    assert not caught.value.permanent
    assert len(wiring.sleeps) == 2


async def test_it_reports_a_body_that_is_not_json(elevenlabs: Callable[..., Wiring]) -> None:
    with pytest.raises(BadResponse, match="not JSON"):
        await collect(elevenlabs(config=EmulatorConfig(malformed=True)), JANUARY)


async def test_it_never_logs_nor_raises_the_key(
    elevenlabs: Callable[..., Wiring], caplog: pytest.LogCaptureFixture
) -> None:
    planted = "sk_planted_elevenlabs_0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    await collect(elevenlabs(config=config(), ELEVENLABS_API_KEY=planted), JANUARY)
    wiring = elevenlabs(config=EmulatorConfig(revoked_keys={planted}), ELEVENLABS_API_KEY=planted)
    with pytest.raises(AuthenticationFailed) as caught:
        await collect(wiring, JANUARY)
    assert planted not in caplog.text
    assert planted not in str(caught.value)
    assert planted not in repr(caught.value.args)


async def test_it_shows_the_quota_and_invoice_in_the_account(elevenlabs: Callable[..., Wiring]) -> None:
    wiring = elevenlabs(config=config(volume=3))
    credential = wiring.source.credentials(wiring.source.settings)[0]
    account = (await wiring.source.discover(credential)).accounts[0]
    dataset = data(wiring)
    assert account.meta["credits_used"] == dataset.character_count
    assert account.meta["credits_allowed"] == dataset.limit
    assert account.meta["current_overage"] == str(dataset.overage)
    assert account.meta["next_reset"].startswith("2026-03-17T")


def test_it_has_no_credential_without_a_key(make_settings: Callable[..., object]) -> None:
    from costtracker.sources.elevenlabs import ElevenLabsSource

    assert ElevenLabsSource.credentials(make_settings()) == []  # type: ignore[arg-type]
