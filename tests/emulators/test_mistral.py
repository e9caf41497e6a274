"""The Mistral emulator serves the documented admin usage endpoint, and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.emulators.mistral import ADMIN_KEY, WORKSPACE_ID, create_app

TODAY = date(2026, 6, 10)
# UsageOUTJSON's required fields (mistralai/platform-docs-public public/openapi.yaml @222f4ba)
REQUIRED = {
    "completion",
    "ocr",
    "connectors",
    "libraries_api",
    "fine_tuning",
    "audio",
    "audio_characters",
    "vibe_usage",
    "vibe_code",
    "chat",
    "date",
    "previous_month",
    "next_month",
    "start_date",
    "end_date",
    "currency",
    "currency_symbol",
    "prices",
}
PRICE_FIELDS = {"event_type", "billing_metric", "billing_group", "api_zone", "service_tier", "price"}


@pytest.fixture
def emulator() -> Emulator:
    return create_app(EmulatorConfig(extra={"today": TODAY}))


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://mi.test"
    ) as client:
        client.headers["x-api-key"] = ADMIN_KEY
        yield client


async def usage(client: httpx.AsyncClient, status: int = 200, **params: str) -> Any:
    response = await client.get("/v1/admin/usage", params=params)
    assert response.status_code == status, response.text
    return response.json()


def cost(body: dict[str, Any]) -> Decimal:
    """What the answer costs: value_paid x the price of its metric and group."""
    prices = {(p["billing_metric"], p["billing_group"]): Decimal(str(p["price"])) for p in body["prices"]}
    models = [
        body["completion"]["models"],
        body["ocr"]["models"],
        body["audio"]["models"],
        body["libraries_api"]["pages"]["models"],
        body["fine_tuning"]["training"],
        body["vibe_code"]["completion"]["models"],
    ]
    return sum(
        (
            prices[(entry["billing_metric"], entry["billing_group"])] * entry["value_paid"]
            for lanes in (m for group in models for m in group.values())
            for entries in lanes.values()
            for entry in entries
            if (entry["billing_metric"], entry["billing_group"]) in prices
        ),
        Decimal(0),
    )


async def test_it_answers_with_every_documented_field(client: httpx.AsyncClient) -> None:
    body = await usage(client, month="5", year="2026")

    assert set(body) >= REQUIRED
    assert body["vibe_usage"] == 0 and body["currency"] == "EUR" and body["currency_symbol"] == "€"
    assert body["start_date"].startswith("2026-05-01") and body["end_date"].startswith("2026-05-31")
    assert all(set(price) == PRICE_FIELDS for price in body["prices"])
    assert {type(price["price"]) for price in body["prices"]} == {
        str,
        float,
    }  # number or string, both documented


async def test_it_states_exactly_what_it_serves(client: httpx.AsyncClient, emulator: Emulator) -> None:
    body = await usage(client, month="5", year="2026")

    assert cost(body) == emulator.dataset.total(date(2026, 5, 1), date(2026, 5, 31))


async def test_it_takes_whole_numbers_with_or_without_a_leading_zero(client: httpx.AsyncClient) -> None:
    assert await usage(client, month="5", year="2026") == await usage(client, month="05", year="2026")


async def test_it_defaults_to_the_current_month(client: httpx.AsyncClient) -> None:
    body = await usage(client)

    assert body["start_date"].startswith("2026-06-01")


async def test_it_serves_no_usage_after_today(client: httpx.AsyncClient) -> None:
    body = await usage(client, month="6", year="2026")

    days = {
        entry["timestamp"][:10]
        for model in body["completion"]["models"].values()
        for entries in model.values()
        for entry in entries
    }
    assert days and max(days) <= str(TODAY)


async def test_it_refuses_a_month_that_does_not_exist(client: httpx.AsyncClient) -> None:
    error = await usage(client, 422, month="13", year="2026")

    assert error["detail"][0]["loc"] == ["query", "month"]


async def test_it_accepts_the_key_as_a_bearer_token_too(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/admin/usage", headers={"x-api-key": "", "Authorization": f"Bearer {ADMIN_KEY}"}
    )

    assert response.status_code == 200


async def test_it_refuses_a_missing_or_wrong_key(client: httpx.AsyncClient) -> None:
    wrong = await client.get("/v1/admin/usage", headers={"x-api-key": "mistral-standard-key-not-admin"})
    missing = await client.get("/v1/admin/usage", headers={"x-api-key": ""})

    assert wrong.status_code == missing.status_code == 401
    assert wrong.json() == {"detail": "Unauthorized"}


async def test_it_serves_the_older_documented_path_too(client: httpx.AsyncClient) -> None:
    older = await client.get("/api/admin/usage", params={"month": "5", "year": "2026"})

    assert older.json() == await usage(client, month="5", year="2026")


async def test_it_has_no_usage_for_another_workspace_or_zone(client: httpx.AsyncClient) -> None:
    elsewhere = await usage(
        client, month="5", year="2026", workspace_id="00000000-0000-4000-8000-000000000000"
    )
    ours = await usage(client, month="5", year="2026", workspace_id=WORKSPACE_ID)
    europe = await usage(client, month="5", year="2026", api_zone="eu")

    assert elsewhere["completion"]["models"] == europe["completion"]["models"] == {}
    assert ours["completion"]["models"]
    await usage(client, 422, api_zone="mars")
