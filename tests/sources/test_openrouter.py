"""The OpenRouter source against its emulator: billed USD per day, model, provider and key."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from costtracker import clock
from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.openrouter import API_KEY, KEYS, MANAGEMENT_KEY, UNKNOWN_MODEL
from costtracker.errors import AuthenticationFailed, BadResponse, UpstreamUnavailable
from costtracker.http import Http
from costtracker.settings import Settings
from costtracker.sources.base import AccountInfo, Collection, CostRecord, Credential, Period
from costtracker.sources.openrouter import NEEDS_MANAGEMENT, OpenRouterSource
from costtracker.store.models import Provenance
from tests.sources.conftest import Wiring

REAL_TODAY = clock.today
TODAY = date(2026, 3, 2)  # the activity window is 2026-01-31 .. 2026-03-01
FEBRUARY = Period.month(2026, 2)

Wire = Callable[..., Wiring]


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def config(**knobs: object) -> EmulatorConfig:
    return EmulatorConfig(extra={"today": TODAY}, **knobs)  # type: ignore[arg-type]


def credential(wiring: Wiring) -> Credential:
    return wiring.source.credentials(wiring.source.settings)[0]


async def collect(wiring: Wiring, period: Period) -> Collection:
    return await wiring.source.collect(credential(wiring), period)


def total(records: list[CostRecord]) -> Decimal:
    return sum((r.amount for r in records if r.amount is not None and r.in_total), Decimal(0))


def summed(records: list[CostRecord], by: Callable[[CostRecord], str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        assert record.amount is not None
        out[by(record)] += record.amount
    return dict(out)


async def test_it_collects_a_month_to_the_emulators_exact_total_across_pages(wire: Wire) -> None:
    wiring = wire("openrouter", config=config(page_size=2))

    collection = await collect(wiring, FEBRUARY)

    assert collection.complete and collection.notes == []
    assert total(collection.records) == wiring.emulator.dataset.total(FEBRUARY.start, FEBRUARY.end)
    assert wiring.emulator.stats.by_path["/api/v1/keys"] == 4  # 5 keys, 2 a page, then an empty page
    assert {r.currency for r in collection.records} == {"USD"}
    assert all(r.provenance == Provenance.BILLED and r.in_total for r in collection.records)


async def test_it_breaks_the_total_down_by_model_and_by_key(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())
    dataset = wiring.emulator.dataset

    records = (await collect(wiring, FEBRUARY)).records

    by_model = summed(records, lambda r: r.model)
    by_key = summed(records, lambda r: r.project)
    assert by_model == dataset.by_model(FEBRUARY.start, FEBRUARY.end)
    assert by_key == dataset.by_key(FEBRUARY.start, FEBRUARY.end)
    assert sum(by_model.values()) == sum(by_key.values()) == total(records)


async def test_it_keeps_spend_made_without_a_listed_key_on_no_project(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    records = (await collect(wiring, FEBRUARY)).records

    unattributed = [r for r in records if r.project == ""]
    assert unattributed
    assert total(unattributed) == wiring.emulator.dataset.by_key(FEBRUARY.start, FEBRUARY.end)[""]
    assert all(r.raw["minus_listed_keys"] for r in unattributed)


async def test_it_writes_one_line_per_day_model_provider_and_key(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    records = (await collect(wiring, FEBRUARY)).records

    keys = Counter((r.account, r.project, r.day, r.model, r.line_item, r.provenance) for r in records)
    assert max(keys.values()) == 1
    llama = {r.line_item for r in records if r.model == "meta-llama/llama-3.3-70b-instruct"}
    assert llama == {"DeepInfra", "Together"}  # one model, two provider endpoints


async def test_it_keeps_usage_counts_next_to_the_money(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    records = (await collect(wiring, Period(date(2026, 2, 10), date(2026, 2, 10)))).records

    for record in records:
        rows = record.raw.get("rows") or record.raw["account_rows"]
        assert record.requests and record.input_tokens and record.output_tokens
        assert {row["date"] for row in rows} == {"2026-02-10"}
        assert record.usage_extra["endpoint_ids"]


async def test_it_keeps_the_billed_amount_of_a_model_no_price_table_knows(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    records = (await collect(wiring, FEBRUARY)).records

    unknown = [r for r in records if r.model == UNKNOWN_MODEL]
    assert unknown and all(r.provenance == Provenance.BILLED and r.amount is not None for r in unknown)
    assert total(unknown) == wiring.emulator.dataset.by_model(FEBRUARY.start, FEBRUARY.end)[UNKNOWN_MODEL]


async def test_it_keeps_byok_spend_as_usage_not_as_money(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    records = (await collect(wiring, FEBRUARY)).records

    byok = [r for r in records if Decimal(r.usage_extra["byok_usage_inference"]) > 0]
    assert byok and total(records) == wiring.emulator.dataset.total(FEBRUARY.start, FEBRUARY.end)


async def test_it_says_which_days_are_older_than_the_30_day_window(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())
    dataset = wiring.emulator.dataset

    collection = await collect(wiring, Period.month(2026, 1))

    assert not collection.complete
    assert collection.notes == [
        "OpenRouter keeps daily activity for the last 30 completed UTC days only (2026-01-31 to 2026-03-01): "
        "2026-01-01 to 2026-01-30 are not covered."
    ]
    assert {r.day for r in collection.records} == {date(2026, 1, 31)}
    assert total(collection.records) == dataset.total(date(2026, 1, 31), date(2026, 1, 31))


async def test_it_asks_nothing_for_a_range_entirely_older_than_the_window(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    collection = await collect(wiring, Period.month(2025, 12))

    assert collection.records == [] and not collection.complete
    assert "2025-12-01 to 2025-12-31 are not covered" in collection.notes[0]
    assert wiring.emulator.stats.requests == 0


async def test_it_says_today_is_not_reported_yet(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    collection = await collect(wiring, Period(date(2026, 3, 1), TODAY))

    assert not collection.complete
    assert collection.notes == [
        "2026-03-02 is not reported yet: OpenRouter publishes a UTC day's activity once it is over."
    ]
    assert {r.day for r in collection.records} == {date(2026, 3, 1)}


async def test_it_follows_the_real_date_when_no_day_is_pinned(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "today", REAL_TODAY)  # the real clock, for the source and the emulator alike
    wiring = wire("openrouter")
    today = clock.today()
    window = Period(today - timedelta(days=30), today - timedelta(days=1))

    collection = await collect(wiring, window)

    assert collection.complete
    assert total(collection.records) == wiring.emulator.dataset.total(window.start, window.end)


async def test_it_skips_the_activity_of_keys_that_were_never_used(wire: Wire) -> None:
    wiring = wire("openrouter", config=config())

    await collect(wiring, FEBRUARY)

    used = [key for key in KEYS if key.used]
    assert wiring.emulator.stats.by_path["/api/v1/activity"] == 1 + len(used)


async def test_it_keeps_credits_as_account_meta_and_keys_as_projects(wire: Wire) -> None:
    wiring = wire("openrouter", config=config(page_size=3))

    discovery = await wiring.source.discover(credential(wiring))

    meta = discovery.accounts[0].meta
    assert Decimal(meta["balance"]) == Decimal(meta["total_credits"]) - Decimal(meta["total_usage"])
    assert Decimal(meta["total_usage"]) == wiring.emulator.dataset.usage_stats(None)["usage"]
    assert {p.external_id: p.status for p in discovery.projects} == {
        key.hash: "archived" if key.disabled else "active" for key in KEYS
    }
    assert {p.kind for p in discovery.projects} == {"api_key"}
    assert all(MANAGEMENT_KEY not in json.dumps(p.meta) for p in discovery.projects)


async def test_it_describes_a_normal_key_and_collects_nothing_with_it(wire: Wire) -> None:
    wiring = wire("openrouter", config=config(), OPENROUTER_MANAGEMENT_KEY=None, OPENROUTER_API_KEY=API_KEY)

    discovery = await wiring.source.discover(credential(wiring))
    collection = await collect(wiring, FEBRUARY)

    assert Decimal(discovery.accounts[0].meta["key"]["usage"]) > 0
    assert collection.records == [] and not collection.complete and collection.notes == [NEEDS_MANAGEMENT]
    assert wiring.emulator.stats.by_path == {"/api/v1/key": 1}


def test_it_prefers_the_management_key_when_both_are_set(make_settings: Callable[..., Settings]) -> None:
    both = make_settings(openrouter_management_key=MANAGEMENT_KEY, openrouter_api_key=API_KEY)

    [chosen] = OpenRouterSource.credentials(both)
    assert chosen.extra["kind"] == "management"
    assert OpenRouterSource.home_account(chosen) == AccountInfo("default", "OpenRouter")
    assert OpenRouterSource.credentials(make_settings()) == []


async def test_it_reports_a_revoked_key_as_a_permanent_authentication_failure(wire: Wire) -> None:
    wiring = wire("openrouter", config=config(revoked_keys={MANAGEMENT_KEY}))

    with pytest.raises(AuthenticationFailed) as caught:
        await collect(wiring, FEBRUARY)

    assert caught.value.permanent
    assert "openrouter (default)" in str(caught.value) and "User not found." in str(caught.value)
    assert MANAGEMENT_KEY not in str(caught.value)


async def test_it_waits_as_long_as_retry_after_says_then_collects_once(wire: Wire) -> None:
    wiring = wire("openrouter", config=config(throttle_first=1, retry_after=7))

    collection = await collect(wiring, FEBRUARY)

    assert 7.0 in wiring.sleeps
    assert total(collection.records) == wiring.emulator.dataset.total(FEBRUARY.start, FEBRUARY.end)
    assert len({(r.project, r.day, r.model, r.line_item) for r in collection.records}) == len(
        collection.records
    )


async def test_it_gives_up_on_a_server_that_keeps_failing(wire: Wire) -> None:
    wiring = wire("openrouter", config=config(always_status=500), max_retries=2)

    with pytest.raises(UpstreamUnavailable) as caught:
        await collect(wiring, FEBRUARY)

    assert "server error 500" in str(caught.value) and not caught.value.permanent
    assert len(wiring.sleeps) == 2 and wiring.emulator.stats.requests == 3


async def test_it_reports_a_body_that_is_not_json(wire: Wire) -> None:
    wiring = wire("openrouter", config=config(malformed=True))

    with pytest.raises(BadResponse, match="not JSON"):
        await collect(wiring, FEBRUARY)


async def test_it_reports_an_activity_row_it_cannot_read() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/keys":
            return httpx.Response(200, json={"data": []})
        return httpx.Response(200, json={"data": [{"date": "2026-02-01", "model": "openai/gpt-4.1"}]})

    async with Http("openrouter", "http://x.test", transport=httpx.MockTransport(answer)) as http:
        settings = Settings(_env_file=None, openrouter_management_key=MANAGEMENT_KEY)
        source = OpenRouterSource(settings, http)
        with pytest.raises(BadResponse, match="/api/v1/activity with an activity row it cannot read"):
            await source.collect(source.credentials(settings)[0], FEBRUARY)


async def test_it_never_shows_the_key_in_logs_errors_or_records(
    wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wiring = wire("openrouter", config=config(throttle_first=1))
    failing = wire("openrouter", config=config(revoked_keys={MANAGEMENT_KEY}))

    collection = await collect(wiring, FEBRUARY)
    discovery = await wiring.source.discover(credential(wiring))
    with pytest.raises(AuthenticationFailed) as caught:
        await collect(failing, FEBRUARY)

    assert caplog.records  # the HTTP layer did log
    texts = [
        caplog.text,
        str(caught.value),
        json.dumps([r.raw for r in collection.records]),
        json.dumps([p.meta for p in discovery.projects]),
    ]
    assert all(MANAGEMENT_KEY not in text for text in texts)
