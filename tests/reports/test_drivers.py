"""The decomposition of a change: each driver alone, then all at once, always exact."""

from __future__ import annotations

import random
from decimal import Decimal

from costtracker.reports.drivers import ItemKey, Usage, common_unit, decompose

D = Decimal


def usage(cost: str, tokens: int | None = None, **quantities: int) -> Usage:
    measured = {unit: D(value) for unit, value in quantities.items()}
    if tokens is not None:
        measured["tokens"] = D(tokens)
    return Usage(D(cost), measured)


def change_of(now: dict[ItemKey, Usage], before: dict[ItemKey, Usage]) -> Decimal:
    return sum((u.cost for u in now.values()), D(0)) - sum((u.cost for u in before.values()), D(0))


def test_it_puts_more_tokens_at_the_same_price_in_volume() -> None:
    before = {("openai", "gpt-4o"): usage("10", tokens=1000)}
    now = {("openai", "gpt-4o"): usage("25", tokens=2500)}
    drivers = decompose(now, before)
    assert drivers.volume == change_of(now, before)
    assert drivers.price == drivers.mix == drivers.new == drivers.gone == 0


def test_it_puts_a_new_unit_price_on_the_same_usage_in_price() -> None:
    before = {("openai", "gpt-4o"): usage("10", tokens=1000)}
    now = {("openai", "gpt-4o"): usage("12.5", tokens=1000)}
    drivers = decompose(now, before)
    assert drivers.price == change_of(now, before)
    assert drivers.volume == drivers.mix == 0


def test_it_puts_usage_moving_to_a_dearer_model_in_mix() -> None:
    before = {("openai", "mini"): usage("1", tokens=1000), ("openai", "big"): usage("10", tokens=1000)}
    now = {("openai", "mini"): usage("0.5", tokens=500), ("openai", "big"): usage("15", tokens=1500)}
    drivers = decompose(now, before)
    assert drivers.volume == 0  # as many tokens as before
    assert drivers.price == 0  # each model kept its unit price
    assert drivers.mix == change_of(now, before)


def test_it_counts_models_that_appear_as_new_and_those_that_disappear_as_gone() -> None:
    before = {("openai", "old"): usage("7", tokens=700), ("openai", "kept"): usage("5", tokens=500)}
    now = {("openai", "kept"): usage("5", tokens=500), ("anthropic", "claude"): usage("3", tokens=100)}
    drivers = decompose(now, before)
    assert (drivers.new, drivers.gone) == (D(3), D(-7))
    assert drivers.volume == drivers.price == drivers.mix == 0
    assert any("anthropic claude" in note for note in drivers.notes)
    assert any(note.startswith("gone: openai old (-7.00") for note in drivers.notes)


def test_it_puts_the_change_of_an_item_without_a_usage_count_in_volume() -> None:
    before = {("anthropic", "Web Search Usage"): usage("8")}
    now = {("anthropic", "Web Search Usage"): usage("11")}
    drivers = decompose(now, before)
    assert drivers.volume == D(3)
    assert any("without a usage count" in note for note in drivers.notes)


def test_it_never_adds_tokens_to_characters() -> None:
    before = {("x", "chat"): usage("10", tokens=1000), ("x", "tts"): usage("10", characters=10)}
    now = {("x", "chat"): usage("10", tokens=1000), ("x", "tts"): usage("20", characters=20)}
    drivers = decompose(now, before)
    assert drivers.volume == D(10)  # twice the characters at the old price; tokens unchanged
    assert drivers.mix == 0 and drivers.price == 0


def test_it_chooses_the_first_unit_measured_in_both_months() -> None:
    assert common_unit(usage("1", tokens=5, requests=2), usage("1", requests=3)) == "requests"
    assert common_unit(usage("1", tokens=5), usage("1", characters=3)) is None


def test_an_item_that_is_neither_billed_nor_used_is_not_new() -> None:
    drivers = decompose({("x", "idle"): usage("0")}, {})
    assert drivers.new == 0 and drivers.total == 0


def test_the_five_drivers_add_up_to_the_change_exactly_whatever_the_numbers() -> None:
    rng = random.Random(7)
    models = [(p, m) for p in ("openai", "anthropic", "deepgram") for m in ("a", "b", "c", "d")]
    for _ in range(200):
        before: dict[ItemKey, Usage] = {}
        now: dict[ItemKey, Usage] = {}
        for key in models:
            for month in (before, now):
                if rng.random() < 0.8:
                    cost = D(rng.randrange(0, 10**12)).scaleb(-9)
                    unit = rng.choice(["tokens", "requests", "characters"])
                    month[key] = Usage(cost, {unit: D(rng.randrange(1, 10**9))} if rng.random() < 0.9 else {})
        drivers = decompose(now, before)
        assert drivers.total == change_of(now, before)
        assert drivers.volume == drivers.volume.quantize(D("1e-9"))
        assert drivers.mix == drivers.mix.quantize(D("1e-9"))
