"""The Mistral source: nothing collectable with an API key, monthly admin usage with an admin key."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from costtracker import clock
from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.mistral import ADMIN_KEY, UNPRICED_MODEL
from costtracker.errors import AuthenticationFailed, BadResponse, UpstreamUnavailable
from costtracker.http import Http
from costtracker.settings import Settings
from costtracker.sources.base import AccountInfo, Collection, CostRecord, Credential, Period
from costtracker.sources.mistral import NO_BILLING_API, MistralSource, usages
from costtracker.store.models import Provenance
from tests.sources.conftest import Wiring

TODAY = date(2026, 6, 10)
MAY = Period.month(2026, 5)

Wire = Callable[..., Wiring]


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def config(**knobs: Any) -> EmulatorConfig:
    extra = {"today": TODAY, **knobs.pop("extra", {})}
    return EmulatorConfig(extra=extra, **knobs)


def credential(wiring: Wiring) -> Credential:
    return wiring.source.credentials(wiring.source.settings)[0]


async def collect(wiring: Wiring, period: Period) -> Collection:
    return await wiring.source.collect(credential(wiring), period)


def billed(records: list[CostRecord]) -> Decimal:
    return sum((r.amount for r in records if r.amount is not None and r.in_total), Decimal(0))


def summed(records: list[CostRecord], by: Callable[[CostRecord], str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        if record.amount is not None:
            out[by(record)] += record.amount
    return dict(out)


def test_it_has_nothing_to_collect_with_only_an_api_key_and_says_why(
    make_settings: Callable[..., Settings],
) -> None:
    api_only = make_settings(mistral_api_key="mistral-api-demo-key-0123456789")
    admin = make_settings(mistral_admin_key=ADMIN_KEY, mistral_api_key="mistral-api-demo-key-0123456789")

    assert MistralSource.credentials(api_only) == []
    assert MistralSource.configuration_problem(api_only) == NO_BILLING_API
    assert MistralSource.configuration_problem(make_settings()) is None  # simply not configured
    [chosen] = MistralSource.credentials(admin)
    assert MistralSource.configuration_problem(admin) is None
    assert MistralSource.home_account(chosen) == AccountInfo("default", "Mistral")


def test_it_sends_the_admin_key_in_both_documented_headers(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(mistral_admin_key=ADMIN_KEY)
    source = MistralSource(settings, Http("mistral", "http://x.test"))

    headers = source.auth_headers(source.credentials(settings)[0])

    assert headers == {"x-api-key": ADMIN_KEY, "Authorization": f"Bearer {ADMIN_KEY}"}


async def test_it_collects_a_month_to_the_emulators_exact_total(wire: Wire) -> None:
    wiring = wire("mistral", config=config())

    collection = await collect(wiring, MAY)

    assert collection.complete and collection.notes == []
    assert billed(collection.records) == wiring.emulator.dataset.total(MAY.start, MAY.end)
    assert wiring.emulator.stats.by_path == {"/v1/admin/usage": 1}


async def test_it_breaks_the_month_down_by_model_and_by_category(wire: Wire) -> None:
    wiring = wire("mistral", config=config())
    dataset = wiring.emulator.dataset

    records = (await collect(wiring, MAY)).records

    by_model = summed(records, lambda r: r.model)
    by_item = summed(records, lambda r: r.line_item)
    assert by_model == dataset.by_model(MAY.start, MAY.end)
    assert by_item == dataset.by_line_item(MAY.start, MAY.end)
    assert {r.project for r in records} == {""}  # organisation-wide: no per-workspace split
    assert sum(by_model.values()) == sum(by_item.values()) == billed(records)


async def test_it_dates_a_month_on_its_first_day_so_collecting_again_rewrites_the_same_lines(
    wire: Wire,
) -> None:
    wiring = wire("mistral", config=config())

    part = await collect(wiring, Period(date(2026, 5, 10), date(2026, 5, 20)))
    whole = await collect(wiring, MAY)

    def lines(collection: Collection) -> dict[tuple[object, ...], Decimal | None]:
        return {
            (r.account, r.project, r.day, r.model, r.line_item, r.provenance): r.amount
            for r in collection.records
        }

    assert lines(part) == lines(whole)
    assert {r.day for r in whole.records} == {date(2026, 5, 1)}
    assert max(Counter((r.model, r.line_item, r.provenance) for r in whole.records).values()) == 1
    assert part.notes == [
        "Mistral reports whole months: each month's lines cover the whole month and are "
        "dated on its first day."
    ]


async def test_it_keeps_usage_that_has_no_price_as_unpriced_not_zero(wire: Wire) -> None:
    wiring = wire("mistral", config=config())

    records = (await collect(wiring, MAY)).records

    [unpriced] = [r for r in records if r.model == UNPRICED_MODEL]
    assert unpriced.provenance == Provenance.UNPRICED and unpriced.amount is None
    assert unpriced.usage_extra["units"] == wiring.emulator.dataset.unpriced_units(MAY.start, MAY.end)
    assert unpriced.input_tokens == unpriced.usage_extra["units"]["input"]


async def test_it_keeps_the_currency_of_the_answer(wire: Wire) -> None:
    euros = (await collect(wire("mistral", config=config()), MAY)).records
    dollars = (await collect(wire("mistral", config=config(extra={"currency": "USD"})), MAY)).records

    assert {r.currency for r in euros} == {"EUR"} and {r.currency for r in dollars} == {"USD"}


async def test_it_collects_every_month_the_period_touches(wire: Wire) -> None:
    wiring = wire("mistral", config=config())
    period = Period(date(2026, 3, 15), date(2026, 5, 10))

    records = (await collect(wiring, period)).records

    assert {r.day for r in records} == {date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)}
    assert billed(records) == wiring.emulator.dataset.total(period.start, period.end)


async def test_it_marks_the_current_month_as_month_to_date(wire: Wire) -> None:
    wiring = wire("mistral", config=config())

    collection = await collect(wiring, Period(date(2026, 6, 1), TODAY))

    assert not collection.complete
    assert collection.notes == ["2026-06 is month to date: Mistral's usage for it is not final."]
    assert billed(collection.records) == wiring.emulator.dataset.total(date(2026, 6, 1), TODAY)


async def test_it_does_not_ask_for_months_that_have_not_started(wire: Wire) -> None:
    wiring = wire("mistral", config=config())

    collection = await collect(wiring, Period(date(2026, 6, 1), date(2026, 8, 31)))

    assert wiring.emulator.stats.requests == 1
    assert "The months after 2026-06 have not started: nothing to collect for them." in collection.notes


async def test_it_reads_the_usage_path_from_the_settings(wire: Wire) -> None:
    wiring = wire("mistral", config=config(), COSTTRACKER_MISTRAL_ADMIN_USAGE_PATH="/api/admin/usage")

    records = (await collect(wiring, MAY)).records

    assert wiring.emulator.stats.by_path == {"/api/admin/usage": 1}
    assert billed(records) == wiring.emulator.dataset.total(MAY.start, MAY.end)


async def test_it_discovers_the_organisation_and_its_currency(wire: Wire) -> None:
    wiring = wire("mistral", config=config())

    discovery = await wiring.source.discover(credential(wiring))

    assert [(a.external_id, a.meta["currency"]) for a in discovery.accounts] == [("default", "EUR")]


def test_it_prices_an_entry_only_with_an_unambiguous_price() -> None:
    entry = {"billing_metric": "m", "billing_group": "input", "value": 10, "value_paid": 10}
    payload = {
        "completion": {"models": {"m": {"input": [entry]}}},
        "prices": [
            {"billing_metric": "m", "billing_group": "input", "api_zone": "global", "price": "0.5"},
            {"billing_metric": "m", "billing_group": "input", "api_zone": "eu", "price": 0.25},
        ],
    }

    [(_, _, ambiguous, unknown)] = usages(payload)
    [(_, _, zoned, _)] = usages(
        {**payload, "completion": {"models": {"m": {"input": [{**entry, "api_zone": "eu"}]}}}}
    )

    assert not ambiguous.lanes and unknown.units == {"input": 10}
    assert zoned.amount == Decimal("2.5")


def test_it_knows_that_usage_nobody_pays_for_costs_nothing() -> None:
    covered = {"billing_metric": "devstral", "billing_group": "input", "value": 900, "value_paid": 0}

    [(_, _, priced, unpriced)] = usages(
        {"vibe_code": {"completion": {"models": {"devstral": {"input": [covered]}}}}}
    )

    assert priced.amount == 0 and priced.units == {"input": 900} and not unpriced.lanes


async def test_it_refuses_amounts_without_a_currency() -> None:
    entry = {"billing_metric": "m", "billing_group": "input", "value": 10, "value_paid": 10}
    answer = {
        "completion": {"models": {"m": {"input": [entry]}}},
        "currency": None,
        "prices": [{"billing_metric": "m", "billing_group": "input", "price": "0.5"}],
    }
    settings = Settings(_env_file=None, mistral_admin_key=ADMIN_KEY)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))

    async with Http("mistral", "http://x.test", transport=transport) as http:
        source = MistralSource(settings, http)
        with pytest.raises(BadResponse, match="with amounts but no currency"):
            await source.collect(source.credentials(settings)[0], MAY)


async def test_it_reports_a_revoked_key_as_a_permanent_authentication_failure(wire: Wire) -> None:
    wiring = wire("mistral", config=config(revoked_keys={ADMIN_KEY}))

    with pytest.raises(AuthenticationFailed) as caught:
        await collect(wiring, MAY)

    assert caught.value.permanent and "mistral (default)" in str(caught.value)
    assert "Unauthorized" in str(caught.value) and ADMIN_KEY not in str(caught.value)


async def test_it_waits_as_long_as_retry_after_says_then_collects_once(wire: Wire) -> None:
    wiring = wire("mistral", config=config(throttle_first=1, retry_after=5))

    records = (await collect(wiring, MAY)).records

    assert wiring.sleeps == [5.0]
    assert billed(records) == wiring.emulator.dataset.total(MAY.start, MAY.end)


async def test_it_gives_up_on_a_server_that_keeps_failing(wire: Wire) -> None:
    wiring = wire("mistral", config=config(always_status=500), max_retries=2)

    with pytest.raises(UpstreamUnavailable) as caught:
        await collect(wiring, MAY)

    assert "server error 500" in str(caught.value) and len(wiring.sleeps) == 2


async def test_it_reports_a_body_that_is_not_json(wire: Wire) -> None:
    wiring = wire("mistral", config=config(malformed=True))

    with pytest.raises(BadResponse, match="not JSON"):
        await collect(wiring, MAY)


async def test_it_never_shows_the_key_in_logs_errors_or_records(
    wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wiring = wire("mistral", config=config(throttle_first=1))
    failing = wire("mistral", config=config(revoked_keys={ADMIN_KEY}))

    records = (await collect(wiring, MAY)).records
    with pytest.raises(AuthenticationFailed) as caught:
        await collect(failing, MAY)

    assert caplog.records
    texts = [caplog.text, str(caught.value), json.dumps([r.raw for r in records])]
    assert all(ADMIN_KEY not in text for text in texts)
