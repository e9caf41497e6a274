"""Why a total moved: the change split into volume, price, mix, new and gone, exactly.

The change is cut per *item*, a (provider, model) pair, with its counted cost ``C`` and a usage
quantity ``Q`` (tokens in + out, else requests, characters, audio seconds: per item the first
unit measured in both months). For the items present in both months, grouped by provider and
unit so that tokens are never added to characters:

* volume = (ΣQ1 − ΣQ0) × ΣC0/ΣQ0   more or fewer units at last month's average unit price;
* mix    = ΣQ1ᵢ·P0ᵢ − ΣQ1·ΣC0/ΣQ0  usage moved between the provider's models (P0ᵢ = C0ᵢ/Q0ᵢ);
* price  = ΣC1 − ΣC0 − volume − mix  what is left: unit prices that changed.

Items found only this month add their cost to *new*; items found only last month subtract
theirs in *gone*. An item present in both months without a unit measured in both (a fixed
fee, web-search calls billed without a count) puts its whole change in volume.

Volume and mix are rounded to 10⁻⁹ (the ledger's precision); price is the exact remainder, so
volume + price + mix + new + gone equals the change exactly, whatever the rounding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from costtracker.reports.model import Drivers
from costtracker.store.types import quantize_money

UNITS = ("tokens", "requests", "characters", "audio_seconds")
ItemKey = tuple[str, str]  # (provider key, model)
ZERO = Decimal(0)
LISTED = 3  # new and gone items named in the notes


@dataclass
class Usage:
    """One item's month: the cost counted in totals and the quantities measured."""

    cost: Decimal = ZERO
    quantities: dict[str, Decimal] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return self.cost != 0 or any(q != 0 for q in self.quantities.values())


def common_unit(current: Usage, previous: Usage) -> str | None:
    """The first unit measured (non-zero) in both months."""
    for unit in UNITS:
        if current.quantities.get(unit, ZERO) > 0 and previous.quantities.get(unit, ZERO) > 0:
            return unit
    return None


def decompose(
    current: Mapping[ItemKey, Usage], previous: Mapping[ItemKey, Usage], *, currency: str = "USD"
) -> Drivers:
    """The drivers of Σ current costs − Σ previous costs (every item given is compared)."""
    now = {key: usage for key, usage in current.items() if usage.present}
    before = {key: usage for key, usage in previous.items() if usage.present}
    new_keys = sorted(now.keys() - before.keys())
    gone_keys = sorted(before.keys() - now.keys())
    both = sorted(now.keys() & before.keys())
    new = sum((now[key].cost for key in new_keys), ZERO)
    gone = -sum((before[key].cost for key in gone_keys), ZERO)
    volume, mix, unmeasured = _continuing(now, before, both)
    change = sum((u.cost for u in now.values()), ZERO) - sum((u.cost for u in before.values()), ZERO)
    price = change - volume - mix - new - gone
    notes = _notes(now, before, new_keys, gone_keys, unmeasured, currency)
    return Drivers(volume=volume, price=price, mix=mix, new=new, gone=gone, notes=notes)


def _continuing(
    now: Mapping[ItemKey, Usage], before: Mapping[ItemKey, Usage], keys: Iterable[ItemKey]
) -> tuple[Decimal, Decimal, list[ItemKey]]:
    """Volume and mix of the items present in both months (rounded), and the unmeasured items."""
    groups: dict[tuple[str, str], list[ItemKey]] = defaultdict(list)
    unmeasured: list[ItemKey] = []
    volume = ZERO
    for key in keys:
        unit = common_unit(now[key], before[key])
        if unit is None:
            unmeasured.append(key)
            volume += now[key].cost - before[key].cost  # exact: no unit, no price to hold
        else:
            groups[(key[0], unit)].append(key)
    with localcontext() as context:
        context.prec = 60
        exact_volume = exact_mix = ZERO
        for (_, unit), members in groups.items():
            group_volume, group_mix = _group(now, before, members, unit)
            exact_volume += group_volume
            exact_mix += group_mix
    return volume + quantize_money(exact_volume), quantize_money(exact_mix), unmeasured


def _group(
    now: Mapping[ItemKey, Usage], before: Mapping[ItemKey, Usage], members: list[ItemKey], unit: str
) -> tuple[Decimal, Decimal]:
    q0 = sum((before[key].quantities[unit] for key in members), ZERO)
    q1 = sum((now[key].quantities[unit] for key in members), ZERO)
    c0 = sum((before[key].cost for key in members), ZERO)
    average = c0 / q0
    at_old_prices = sum(
        (now[key].quantities[unit] * before[key].cost / before[key].quantities[unit] for key in members), ZERO
    )
    return (q1 - q0) * average, at_old_prices - q1 * average


def _notes(
    now: Mapping[ItemKey, Usage],
    before: Mapping[ItemKey, Usage],
    new_keys: list[ItemKey],
    gone_keys: list[ItemKey],
    unmeasured: list[ItemKey],
    currency: str,
) -> list[str]:
    notes = [
        "volume and mix are priced at last month's unit prices (rounded to 10⁻⁹); price is the "
        "exact remainder, so the five drivers add up to the change exactly"
    ]
    if new_keys:
        notes.append("new: " + _named(new_keys, now, currency, sign=1))
    if gone_keys:
        notes.append("gone: " + _named(gone_keys, before, currency, sign=-1))
    if unmeasured:
        moved = sum((now[key].cost - before[key].cost for key in unmeasured), ZERO)
        notes.append(
            f"{len(unmeasured)} item(s) without a usage count in both months are counted in "
            f"volume ({_signed(moved)} {currency})"
        )
    return notes


def _named(keys: list[ItemKey], months: Mapping[ItemKey, Usage], currency: str, *, sign: int) -> str:
    biggest = sorted(keys, key=lambda key: (-abs(months[key].cost), key))
    named = ", ".join(
        f"{provider} {model} ({_signed(sign * months[(provider, model)].cost)} {currency})"
        for provider, model in biggest[:LISTED]
    )
    more = len(keys) - LISTED
    return named + (f" and {more} more" if more > 0 else "")


def _signed(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):+,}"
