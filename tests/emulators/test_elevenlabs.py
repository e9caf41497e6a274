"""The ElevenLabs emulator keeps the documented contract: shapes, units, errors, determinism."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.elevenlabs import DEMO_KEY, ElevenLabsData, create_app

TODAY = date(2026, 3, 10)
MARCH_1_MS = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()) * 1000
DAY_MS = 86_400_000


def client_for(config: EmulatorConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(config)),
        base_url="http://emulator.test",
        headers={"xi-api-key": DEMO_KEY},
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(EmulatorConfig(extra={"today": TODAY})) as opened:
        yield opened


async def stats(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    query = {"start_unix": MARCH_1_MS + 12_345, "end_unix": MARCH_1_MS + 5 * DAY_MS - 1, **params}
    return await client.get("/v1/usage/character-stats", params=query)


async def test_it_serves_the_subscription_with_seconds_a_string_overage_and_cents(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/v1/user/subscription")).json()
    assert body["next_character_count_reset_unix"] == int(
        datetime(2026, 3, 17, 14, 27, 6, tzinfo=UTC).timestamp()
    )
    assert isinstance(body["current_overage"]["amount"], str)
    assert isinstance(body["next_invoice"]["amount_due_cents"], int)
    for field in (
        "tier",
        "character_count",
        "character_limit",
        "max_credit_limit_extension",
        "status",
        "open_invoices",
        "has_open_invoices",
        "professional_voice_slots_used_in_workspace",
    ):
        assert field in body


async def test_it_serves_a_millisecond_time_axis_starting_at_the_requested_start(
    client: httpx.AsyncClient,
) -> None:
    body = (await stats(client, breakdown_type="model")).json()
    assert body["time"] == [MARCH_1_MS + 12_345] + [MARCH_1_MS + n * DAY_MS for n in range(1, 5)]
    assert all(len(values) == 5 for values in body["usage"].values())
    assert set(body["usage"]) <= {
        "eleven_multilingual_v2",
        "eleven_v3",
        "eleven_flash_v2_5",
        "eleven_turbo_v2_5",
    }


async def test_it_sums_every_model_without_a_breakdown(client: httpx.AsyncClient) -> None:
    by_model = (await stats(client, breakdown_type="model", metric="tts_characters")).json()["usage"]
    overall = (await stats(client, metric="tts_characters")).json()["usage"]
    assert overall["All"] == [sum(day) for day in zip(*by_model.values(), strict=True)]


async def test_it_answers_a_missing_bound_with_a_fastapi_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/usage/character-stats", params={"end_unix": MARCH_1_MS})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["query", "start_unix"], "msg": "field required", "type": "value_error.missing"}]
    }


async def test_it_refuses_an_unknown_metric(client: httpx.AsyncClient) -> None:
    response = await stats(client, metric="dollars")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "metric"]


async def test_it_refuses_a_missing_or_revoked_key_in_the_documented_shape() -> None:
    async with client_for(EmulatorConfig(revoked_keys={DEMO_KEY})) as revoked:
        response = await revoked.get("/v1/user/subscription")
    assert response.status_code == 401
    assert response.json() == {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
    async with client_for(EmulatorConfig()) as anonymous:
        assert (await anonymous.get("/v1/user/subscription", headers={"xi-api-key": ""})).status_code == 401


def test_it_generates_the_same_usage_for_the_same_seed_and_none_after_today() -> None:
    first = ElevenLabsData(seed=7, tier="creator", today=TODAY)
    again = ElevenLabsData(seed=7, tier="creator", today=TODAY)
    other = ElevenLabsData(seed=8, tier="creator", today=TODAY)
    days = first.days(date(2025, 6, 1), date(2025, 6, 30))
    assert [first.usage(d) for d in days] == [again.usage(d) for d in days] != [other.usage(d) for d in days]
    assert first.usage(date(2026, 3, 11)) == {}


def test_it_counts_the_current_cycle_from_the_anchor_day() -> None:
    dataset = ElevenLabsData(seed=1, tier="starter", today=date(2026, 1, 31), anchor_day=31)
    assert dataset.cycle == (date(2026, 1, 31), date(2026, 2, 28))
    assert dataset.character_count == dataset.credits(date(2026, 1, 31), date(2026, 1, 31))
