"""The Anthropic emulator keeps the documented contract (shapes, encodings, paging, errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from costtracker.emulators.anthropic import DEMO_ENV, create_app
from costtracker.emulators.base import Emulator, EmulatorConfig

KEY = DEMO_ENV["ANTHROPIC_ADMIN_KEY"]
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
COST = "/v1/organizations/cost_report"
USAGE = "/v1/organizations/usage_report/messages"
WEEK = {"starting_at": "2025-05-01T00:00:00Z", "ending_at": "2025-05-08T00:00:00Z"}
FIRST, LAST = date(2025, 5, 1), date(2025, 5, 7)  # the days of WEEK


@pytest.fixture
def emulator() -> Emulator:
    return create_app(EmulatorConfig())


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://emulator.test", headers=HEADERS
    ) as client:
        yield client


async def get(client: httpx.AsyncClient, path: str, params: Any = None, status: int = 200) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == status, response.text
    return response.json()


async def test_it_answers_the_cost_report_in_daily_buckets_of_decimal_cents(
    client: httpx.AsyncClient,
) -> None:
    body = await get(client, COST, {**WEEK, "group_by[]": ["workspace_id", "description"], "limit": "7"})

    assert [b["starting_at"] for b in body["data"]][:2] == ["2025-05-01T00:00:00Z", "2025-05-02T00:00:00Z"]
    assert body["data"][0]["ending_at"] == "2025-05-02T00:00:00Z"
    assert (len(body["data"]), body["has_more"], body["next_page"]) == (7, False, None)
    row = body["data"][0]["results"][0]
    assert set(row) >= {
        "amount",
        "currency",
        "description",
        "cost_type",
        "model",
        "token_type",
        "service_tier",
        "context_window",
        "workspace_id",
    }
    assert isinstance(row["amount"], str) and Decimal(row["amount"]) > 0 and row["currency"] == "USD"


async def test_it_sums_the_cost_report_over_what_is_not_grouped(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    grouped = await get(client, COST, {**WEEK, "group_by[]": ["workspace_id", "description"]})
    flat = await get(client, COST, WEEK)

    for by_line, whole in zip(grouped["data"], flat["data"], strict=True):
        [only] = whole["results"]
        assert only["workspace_id"] is None and only["description"] is None
        assert Decimal(only["amount"]) == sum(Decimal(r["amount"]) for r in by_line["results"])
    week = sum((Decimal(b["results"][0]["amount"]) for b in flat["data"]), Decimal(0))
    assert week.scaleb(-2) == emulator.dataset.billed_total(FIRST, LAST)


async def test_it_accepts_both_array_encodings(client: httpx.AsyncClient) -> None:
    groups = ["model", "workspace_id", "api_key_id", "service_tier"]

    brackets = await get(client, USAGE, {**WEEK, "group_by[]": groups})
    repeated = await get(client, USAGE, {**WEEK, "group_by": groups})

    assert brackets == repeated
    assert {r["service_tier"] for b in brackets["data"] for r in b["results"]} == {"standard", "priority"}


async def test_it_leaves_priority_tier_out_of_the_cost_report(client: httpx.AsyncClient) -> None:
    costs = await get(client, COST, {**WEEK, "group_by[]": ["description"]})
    usage = await get(
        client, USAGE, {**WEEK, "group_by[]": ["service_tier"], "service_tiers[]": ["priority"]}
    )

    assert {r["service_tier"] for b in costs["data"] for r in b["results"]} <= {"standard", None}
    assert all(
        r["service_tier"] == "priority" and r["output_tokens"] > 0
        for b in usage["data"]
        for r in b["results"]
    )


async def test_it_pages_by_buckets_with_an_opaque_cursor(client: httpx.AsyncClient) -> None:
    first = await get(client, USAGE, {**WEEK, "limit": "3"})
    second = await get(client, USAGE, {**WEEK, "limit": "3", "page": first["next_page"]})
    last = await get(client, USAGE, {**WEEK, "limit": "3", "page": second["next_page"]})

    assert first["has_more"] and first["next_page"].startswith("page_")
    assert [len(p["data"]) for p in (first, second, last)] == [3, 3, 1]
    assert (last["has_more"], last["next_page"]) == (False, None)
    assert second["data"][0]["starting_at"] == "2025-05-04T00:00:00Z"


async def test_it_honours_a_forced_small_page_size() -> None:
    emulator = create_app(EmulatorConfig(page_size=2))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://e.test", headers=HEADERS
    ) as client:
        body = await get(client, COST, {**WEEK, "limit": "31"})
        listing = await get(client, "/v1/organizations/api_keys")

    assert len(body["data"]) == 2 and body["has_more"]
    assert (
        len(listing["data"]) == 2 and listing["has_more"] and listing["last_id"] == listing["data"][1]["id"]
    )


async def test_it_lists_archived_workspaces_only_when_asked(client: httpx.AsyncClient) -> None:
    active = await get(client, "/v1/organizations/workspaces")
    everything = await get(client, "/v1/organizations/workspaces", {"include_archived": "true"})

    assert [w["name"] for w in active["data"]] == ["Production", "Research"]
    assert [w["name"] for w in everything["data"]] == ["Production", "Research", "Legacy"]
    assert everything["data"][2]["archived_at"] == "2025-06-30T00:00:00Z"


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (COST, {**WEEK, "group_by[]": "api_key_id"}, "group_by"),
        (USAGE, {**WEEK, "group_by": "colour"}, "group_by"),
        (COST, {"ending_at": WEEK["ending_at"]}, "starting_at"),
        (COST, {"starting_at": "yesterday"}, "starting_at"),
        (USAGE, {**WEEK, "limit": "32"}, "limit"),
        (COST, {**WEEK, "page": "not-a-cursor"}, "page"),
    ],
)
async def test_it_rejects_bad_parameters_in_the_documented_error_shape(
    client: httpx.AsyncClient, path: str, params: dict[str, str], message: str
) -> None:
    body = await get(client, path, params, status=400)

    assert body["type"] == "error" and body["request_id"].startswith("req_")
    assert body["error"]["type"] == "invalid_request_error" and message in body["error"]["message"]


@pytest.mark.parametrize("key", [None, "sk-ant-api03-an-inference-key-0000", "sk-ant-admin01-revoked-000000"])
async def test_it_refuses_a_missing_inference_or_revoked_key_with_401(key: str | None) -> None:
    emulator = create_app(EmulatorConfig(revoked_keys={"sk-ant-admin01-revoked-000000"}))
    headers = {"anthropic-version": "2023-06-01", **({"x-api-key": key} if key else {})}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://e.test"
    ) as client:
        response = await client.get(COST, params=WEEK, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


async def test_it_requires_the_anthropic_version_header(client: httpx.AsyncClient) -> None:
    response = await client.get(COST, params=WEEK, headers={"anthropic-version": ""})

    assert response.status_code == 400 and "anthropic-version" in response.json()["error"]["message"]


async def test_it_is_deterministic_for_a_seed() -> None:
    same = [create_app(EmulatorConfig(seed=7)).dataset, create_app(EmulatorConfig(seed=7)).dataset]
    other = create_app(EmulatorConfig(seed=8)).dataset
    assert same[0].billed_total(FIRST, LAST) == same[1].billed_total(FIRST, LAST)
    assert same[0].billed_total(FIRST, LAST) != other.billed_total(FIRST, LAST)
