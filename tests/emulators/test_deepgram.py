"""The Deepgram emulator keeps the documented contract: shapes, encodings, errors, determinism."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from costtracker.emulators.base import EmulatorConfig
from costtracker.emulators.deepgram import DEMO_KEY, DeepgramData, create_app

TODAY = date(2026, 3, 10)
WEEK = {"start": "2026-02-02", "end": "2026-02-08"}


def client_for(config: EmulatorConfig, key: str = DEMO_KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(config)),
        base_url="http://emulator.test",
        headers={"Authorization": f"Token {key}"},
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(EmulatorConfig(extra={"today": TODAY})) as opened:
        yield opened


async def first_project(client: httpx.AsyncClient) -> str:
    project: str = (await client.get("/v1/projects")).json()["projects"][0]["project_id"]
    return project


async def test_it_lists_projects_with_an_id_and_a_name(client: httpx.AsyncClient) -> None:
    projects = (await client.get("/v1/projects")).json()["projects"]
    assert [p["name"] for p in projects] == ["Production", "Staging", "Research"]
    assert all(len(p["project_id"]) == 36 for p in projects)


async def test_it_bills_one_result_per_day_and_line_item_in_dollars(client: httpx.AsyncClient) -> None:
    project = await first_project(client)
    body = (
        await client.get(
            f"/v1/projects/{project}/billing/breakdown", params={**WEEK, "grouping": "line_item"}
        )
    ).json()
    assert body["resolution"] == {"units": "day", "amount": 1}
    pairs = [(r["grouping"]["start"], r["grouping"]["line_item"]) for r in body["results"]]
    assert len(pairs) == len(set(pairs)) and all("::" in item for _, item in pairs)
    assert all(isinstance(r["dollars"], float) for r in body["results"])
    nano = Decimal("1e-9")
    assert all(
        Decimal(str(r["dollars"])) == Decimal(str(r["dollars"])).quantize(nano) for r in body["results"]
    )


async def test_it_accepts_both_array_encodings_of_grouping(client: httpx.AsyncClient) -> None:
    path = f"/v1/projects/{await first_project(client)}/billing/breakdown"
    repeated = await client.get(
        path, params=[*WEEK.items(), ("grouping", "line_item"), ("grouping", "deployment")]
    )
    brackets = await client.get(
        path, params=[*WEEK.items(), ("grouping[]", "line_item"), ("grouping[]", "deployment")]
    )
    assert repeated.json() == brackets.json()
    assert repeated.json()["results"][0]["grouping"]["deployment"] == "hosted"


async def test_it_sums_a_day_when_billing_is_not_grouped_by_line_item(client: httpx.AsyncClient) -> None:
    path = f"/v1/projects/{await first_project(client)}/billing/breakdown"
    by_item = (await client.get(path, params={**WEEK, "grouping": "line_item"})).json()["results"]
    by_day = (await client.get(path, params=WEEK)).json()["results"]
    assert len(by_day) == 7
    assert sum(Decimal(str(r["dollars"])) for r in by_day) == sum(Decimal(str(r["dollars"])) for r in by_item)
    assert by_day[0]["grouping"]["line_item"] is None


async def test_it_breaks_usage_down_by_model(client: httpx.AsyncClient) -> None:
    path = f"/v1/projects/{await first_project(client)}/usage/breakdown"
    results = (await client.get(path, params={**WEEK, "grouping": "models"})).json()["results"]
    assert {name for r in results for name in r["grouping"]["models"]} <= {
        "Nova-3",
        "Whisper-Large",
        "Aura-2",
        "Voice-Agent-Standard",
    }
    for field in (
        "hours",
        "total_hours",
        "agent_hours",
        "tokens_in",
        "tokens_out",
        "tts_characters",
        "requests",
    ):
        assert all(isinstance(r[field], float) for r in results)


async def test_it_refuses_a_bad_grouping_or_date_in_the_legacy_error_shape(client: httpx.AsyncClient) -> None:
    project = await first_project(client)
    bad_grouping = await client.get(f"/v1/projects/{project}/billing/breakdown", params={"grouping": "model"})
    bad_date = await client.get(f"/v1/projects/{project}/usage/breakdown", params={"start": "02/01/2026"})
    two_groupings = await client.get(
        f"/v1/projects/{project}/usage/breakdown", params=[("grouping", "models"), ("grouping", "method")]
    )
    for response in (bad_grouping, bad_date, two_groupings):
        assert response.status_code == 400
        assert response.json()["err_code"] == "BAD_REQUEST"
        assert set(response.json()) == {"err_code", "err_msg", "request_id"}


async def test_it_refuses_a_bearer_or_revoked_key_as_invalid_credentials() -> None:
    async with client_for(EmulatorConfig()) as valid:
        bearer = await valid.get("/v1/projects", headers={"Authorization": f"Bearer {DEMO_KEY}"})
    async with client_for(EmulatorConfig(revoked_keys={DEMO_KEY})) as revoked:
        refused = await revoked.get("/v1/projects")
    for response in (bearer, refused):
        assert response.status_code == 401
        assert response.json()["err_code"] == "INVALID_AUTH"
        assert response.json()["err_msg"] == "Invalid credentials."


async def test_it_answers_an_unknown_project_with_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/projects/00000000-0000-0000-0000-000000000000/balances")
    assert response.status_code == 404


def test_it_generates_the_same_data_for_the_same_seed_and_nothing_after_today() -> None:
    first, again, other = (DeepgramData(seed, TODAY) for seed in (3, 3, 4))
    start, end = date(2025, 5, 1), date(2025, 5, 31)
    assert first.total(start, end) == again.total(start, end) != other.total(start, end)
    assert first.total(date(2026, 3, 11), date(2026, 3, 31)) == 0
