"""The OpenAI emulator keeps the documented contract: buckets, cursors, query encodings, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.emulators.openai import DEMO_KEYS, create_app

KEY = next(iter(DEMO_KEYS))
AUTH = {"Authorization": f"Bearer {KEY}"}
MAY_1 = int(datetime(2025, 5, 1, tzinfo=UTC).timestamp())
DAY = 86_400


def client(config: EmulatorConfig | None = None, emulator: Emulator | None = None) -> httpx.AsyncClient:
    app = emulator or create_app(config)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://openai.test")


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with client() as opened:
        yield opened


async def get(api: httpx.AsyncClient, path: str, params: Any, status: int = 200) -> Any:
    response = await api.get(f"/v1/organization/{path}", params=params, headers=AUTH)
    assert response.status_code == status, response.text
    return response.json()


async def test_it_accepts_both_array_encodings_of_group_by(api: httpx.AsyncClient) -> None:
    window = [("start_time", MAY_1), ("end_time", MAY_1 + 3 * DAY)]
    repeated = await get(
        api, "usage/completions", [*window, ("group_by", "project_id"), ("group_by", "model")]
    )
    brackets = await get(
        api, "usage/completions", [*window, ("group_by[]", "project_id"), ("group_by[]", "model")]
    )
    assert repeated == brackets
    assert all(result["model"] and result["project_id"] for result in repeated["data"][0]["results"])


async def test_it_answers_a_bad_parameter_with_400_in_openais_error_shape(api: httpx.AsyncClient) -> None:
    bad_group = await get(api, "costs", {"start_time": MAY_1, "group_by": "model"}, status=400)
    too_many = await get(api, "usage/embeddings", {"start_time": MAY_1, "limit": 32}, status=400)
    no_start = await get(api, "costs", {"limit": 3}, status=400)
    assert set(bad_group["error"]) == {"message", "type", "param", "code"}
    assert (bad_group["error"]["param"], too_many["error"]["param"], no_start["error"]["param"]) == (
        "group_by",
        "limit",
        "start_time",
    )
    assert await get(api, "costs", {"start_time": MAY_1, "limit": 180})


async def test_it_starts_the_first_bucket_at_start_time_and_keeps_empty_buckets() -> None:
    async with client(EmulatorConfig(extra={"today": date(2025, 5, 2)})) as api:
        start = MAY_1 + 13 * 3600 + 7  # an unaligned start
        page = await get(api, "costs", {"start_time": start, "end_time": MAY_1 + 4 * DAY, "limit": 10})
    buckets = page["data"]
    assert (buckets[0]["start_time"], buckets[0]["end_time"]) == (start, MAY_1 + DAY)
    assert [b["start_time"] for b in buckets[1:]] == [MAY_1 + DAY, MAY_1 + 2 * DAY, MAY_1 + 3 * DAY]
    assert buckets[0]["results"] and buckets[-1]["results"] == []  # no usage after "today"


async def test_it_pages_buckets_with_an_opaque_cursor_passed_back_as_page(api: httpx.AsyncClient) -> None:
    params: dict[str, Any] = {"start_time": MAY_1, "end_time": MAY_1 + 5 * DAY, "limit": 2}
    starts, pages = [], 0
    while True:
        page = await get(api, "usage/vector_stores", params)
        starts += [bucket["start_time"] for bucket in page["data"]]
        pages += 1
        if not page["has_more"]:
            break
        assert page["next_page"].startswith("page_")
        params = {**params, "page": page["next_page"]}
    assert page["next_page"] is None
    assert (starts, pages) == ([MAY_1 + i * DAY for i in range(5)], 3)


async def test_it_serves_amounts_whose_json_floats_sum_to_the_exact_total() -> None:
    emulator = create_app()
    async with client(emulator=emulator) as api:
        page = await get(api, "costs", {"start_time": MAY_1, "end_time": MAY_1 + 7 * DAY, "limit": 7})
    served = sum(Decimal(str(r["amount"]["value"])) for b in page["data"] for r in b["results"])
    assert served == emulator.dataset.billed_total(date(2025, 5, 1), date(2025, 5, 7), "edugami")
    assert all(len(b["results"]) == 1 for b in page["data"])  # ungrouped: one result per bucket


async def test_it_refuses_a_missing_or_unknown_key_with_401(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/organization/projects")
    unknown = await api.get(
        "/v1/organization/projects", headers={"Authorization": "Bearer sk-admin-nobody-1234"}
    )
    assert (missing.status_code, unknown.status_code) == (401, 401)
    assert unknown.json()["error"]["code"] == "invalid_api_key"


async def test_it_lists_archived_projects_only_when_asked() -> None:
    async with client(EmulatorConfig(extra={"projects_per_workspace": 20})) as api:
        active = await get(api, "projects", {"limit": 100})
        every = await get(api, "projects", {"limit": 100, "include_archived": "true"})
    assert (len(active["data"]), len(every["data"])) == (19, 20)
    assert [p["status"] for p in every["data"]].count("archived") == 1


async def test_it_answers_404_for_a_usage_kind_it_does_not_know(api: httpx.AsyncClient) -> None:
    body = await get(api, "usage/teleportation", {"start_time": MAY_1}, status=404)
    assert "teleportation" in body["error"]["message"]
