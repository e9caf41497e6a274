"""The OpenRouter emulator keeps the documented contract: paths, keys, window, pages, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.emulators.openrouter import (
    API_KEY,
    KEYS,
    MANAGEMENT_KEY,
    OUTSIDE_WINDOW,
    WORKSPACE_ID,
    create_app,
)

TODAY = date(2026, 3, 2)
FIRST, LAST = date(2026, 1, 31), date(2026, 3, 1)
ACTIVITY_FIELDS = {
    "date",
    "model",
    "model_permaslug",
    "endpoint_id",
    "provider_name",
    "usage",
    "byok_usage_inference",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
}


@pytest.fixture
def emulator() -> Emulator:
    return create_app(EmulatorConfig(page_size=2, extra={"today": TODAY}))


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://or.test"
    ) as client:
        client.headers["Authorization"] = f"Bearer {MANAGEMENT_KEY}"
        yield client


async def body(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def exact(value: float) -> Decimal:
    return Decimal(str(value))


async def test_it_serves_the_last_30_completed_days_without_a_date(client: httpx.AsyncClient) -> None:
    rows = (await body(await client.get("/api/v1/activity")))["data"]

    assert {row["date"] for row in rows} == {str(FIRST + timedelta(days=n)) for n in range(30)}
    assert all(set(row) == ACTIVITY_FIELDS for row in rows)


async def test_it_serves_exactly_the_totals_it_states(client: httpx.AsyncClient, emulator: Emulator) -> None:
    dataset = emulator.dataset

    rows = (await body(await client.get("/api/v1/activity")))["data"]

    assert sum((exact(row["usage"]) for row in rows), Decimal(0)) == dataset.total(FIRST, LAST)


async def test_it_filters_by_key_hash(client: httpx.AsyncClient, emulator: Emulator) -> None:
    dataset = emulator.dataset
    key = KEYS[1].hash

    rows = (await body(await client.get("/api/v1/activity", params={"api_key_hash": key})))["data"]

    assert sum((exact(row["usage"]) for row in rows), Decimal(0)) == dataset.by_key(FIRST, LAST)[key]


@pytest.mark.parametrize("day", [str(TODAY), str(FIRST - timedelta(days=1)), "2026-04-01"])
async def test_it_refuses_a_date_outside_the_window_as_openrouter_does(
    client: httpx.AsyncClient, day: str
) -> None:
    error = await body(await client.get("/api/v1/activity", params={"date": day}), 400)

    assert error == {"error": {"code": 400, "message": OUTSIDE_WINDOW}}


async def test_it_serves_one_day_of_the_window(client: httpx.AsyncClient) -> None:
    rows = (await body(await client.get("/api/v1/activity", params={"date": str(FIRST)})))["data"]

    assert rows and {row["date"] for row in rows} == {str(FIRST)}


async def test_it_adds_the_workspace_only_when_grouped_by_it(client: httpx.AsyncClient) -> None:
    grouped = (await body(await client.get("/api/v1/activity", params={"group_by": "workspace"})))["data"]
    await body(await client.get("/api/v1/activity", params={"group_by": "model"}), 400)

    assert {row["workspace_id"] for row in grouped} == {WORKSPACE_ID}


async def test_it_pages_keys_by_offset(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    while page := (
        await body(await client.get("/api/v1/keys", params={"offset": len(seen), "include_disabled": "true"}))
    )["data"]:
        assert len(page) <= 2
        seen += [key["hash"] for key in page]

    assert seen == [key.hash for key in KEYS]


async def test_it_hides_disabled_keys_unless_asked(client: httpx.AsyncClient) -> None:
    first = (await body(await client.get("/api/v1/keys", params={"offset": 2})))["data"]

    assert [key["name"] for key in first] == ["Support bot", "Spare key"]
    await body(await client.get("/api/v1/keys", params={"offset": "-1"}), 400)


@pytest.mark.parametrize("path", ["/api/v1/credits", "/api/v1/keys", "/api/v1/activity"])
async def test_it_refuses_a_normal_key_on_management_paths(client: httpx.AsyncClient, path: str) -> None:
    error = await body(await client.get(path, headers={"Authorization": f"Bearer {API_KEY}"}), 403)

    assert error == {"error": {"code": 403, "message": "Only management keys can perform this operation"}}


async def test_it_describes_the_calling_key_to_any_key(client: httpx.AsyncClient) -> None:
    normal = (await body(await client.get("/api/v1/key", headers={"Authorization": f"Bearer {API_KEY}"})))[
        "data"
    ]
    management = (await body(await client.get("/api/v1/key")))["data"]

    assert not normal["is_management_key"] and management["is_management_key"]
    assert normal["usage"] > 0 and normal["limit"] == 500


async def test_it_refuses_unknown_and_missing_keys(client: httpx.AsyncClient) -> None:
    unknown = await body(
        await client.get("/api/v1/credits", headers={"Authorization": "Bearer sk-or-v1-nope"}), 401
    )
    missing = await body(await client.get("/api/v1/credits", headers={"Authorization": ""}), 401)

    assert unknown["error"]["message"] == "User not found."
    assert missing["error"] == {"code": 401, "message": "No auth credentials found"}


async def test_it_states_credits_as_numbers(client: httpx.AsyncClient) -> None:
    credits = (await body(await client.get("/api/v1/credits")))["data"]

    assert credits["total_credits"] > credits["total_usage"] > 0


async def test_it_answers_the_same_for_the_same_seed() -> None:
    async def activity() -> Any:
        app = create_app(EmulatorConfig(extra={"today": TODAY}))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://or.test"
        ) as client:
            return (
                await client.get("/api/v1/activity", headers={"Authorization": f"Bearer {MANAGEMENT_KEY}"})
            ).json()

    assert await activity() == await activity()
