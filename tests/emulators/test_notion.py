"""The Notion emulator keeps the 2025-09-03 contract: version, token, data sources, limits, pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from costtracker import exactjson
from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.emulators.notion import DEMO_PARENT_PAGE, DEMO_TOKEN, VERSION, create_app

COSTS = {
    "Name": {"title": {}},
    "Key": {"rich_text": {}},
    "Amount": {"number": {"format": "dollar"}},
    "Status": {"select": {"options": [{"name": "Paid"}]}},
}


@pytest.fixture
def emulator() -> Emulator:
    return create_app(EmulatorConfig(page_size=2))


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://notion.test"
    ) as client:
        client.headers.update({"Authorization": f"Bearer {DEMO_TOKEN}", "Notion-Version": VERSION})
        yield client


async def call(client: httpx.AsyncClient, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    content = None if body is None else exactjson.dumps(body)
    response = await client.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    return exactjson.loads(response.content)


async def database(
    client: httpx.AsyncClient, title: str = "Costs", properties: Any = None
) -> tuple[str, str]:
    created = await call(
        client,
        "POST",
        "/v1/databases",
        {
            "parent": {"type": "page_id", "page_id": DEMO_PARENT_PAGE},
            "title": [{"type": "text", "text": {"content": title}}],
            "initial_data_source": {"properties": properties or COSTS},
        },
    )
    return created["id"], created["data_sources"][0]["id"]


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": value}}]


async def page(
    client: httpx.AsyncClient, source: str, name: str, amount: Any = None, status: int = 200, **extra: Any
) -> Any:
    properties = {
        "Name": {"title": text(name)},
        "Key": {"rich_text": text(name.lower())},
        "Amount": {"number": amount},
        **extra,
    }
    body = {"parent": {"data_source_id": source}, "properties": properties}
    return await call(client, "POST", "/v1/pages", body, status)


async def test_it_requires_the_version_header_and_speaks_2025_09_03(client: httpx.AsyncClient) -> None:
    del client.headers["Notion-Version"]
    missing = await call(client, "GET", "/v1/databases/x", status=400)
    assert (missing["object"], missing["code"]) == ("error", "missing_version")
    client.headers["Notion-Version"] = "2022-06-28"
    assert (await call(client, "GET", "/v1/databases/x", status=400))["code"] == "validation_error"


async def test_it_refuses_an_unknown_token(client: httpx.AsyncClient) -> None:
    client.headers["Authorization"] = "Bearer ntn_not_shared"
    assert (await call(client, "GET", "/v1/databases/x", status=401))["code"] == "unauthorized"


async def test_a_database_has_a_data_source_that_holds_its_schema(client: httpx.AsyncClient) -> None:
    database_id, source_id = await database(client)

    db = await call(client, "GET", f"/v1/databases/{database_id}")
    source = await call(client, "GET", f"/v1/data_sources/{source_id}")

    assert db["object"] == "database" and "properties" not in db
    assert db["data_sources"] == [{"id": source_id, "name": "Costs"}]
    assert source["parent"] == {"type": "database_id", "database_id": database_id}
    assert source["properties"]["Amount"]["type"] == "number"
    assert source["properties"]["Name"]["id"] == "title"


async def test_it_refuses_the_2022_shapes(client: httpx.AsyncClient) -> None:
    old = await call(
        client,
        "POST",
        "/v1/databases",
        {"parent": {"page_id": DEMO_PARENT_PAGE}, "title": text("Old"), "properties": COSTS},
        status=400,
    )
    assert "initial_data_source" in old["message"]
    database_id, _ = await database(client)
    assert (await call(client, "POST", f"/v1/databases/{database_id}/query", {}, 400))[
        "code"
    ] == "invalid_request_url"


async def test_an_unknown_parent_page_is_not_found(client: httpx.AsyncClient) -> None:
    missing = await call(
        client,
        "POST",
        "/v1/databases",
        {
            "parent": {"page_id": "00000000-0000-0000-0000-000000000000"},
            "initial_data_source": {"properties": COSTS},
        },
        status=404,
    )
    assert missing["code"] == "object_not_found"


async def test_pages_keep_exact_numbers_and_create_missing_select_options(client: httpx.AsyncClient) -> None:
    _, source = await database(client)

    created = await page(client, source, "July", Decimal("412.870000001"), Status={"select": {"name": "Due"}})

    assert created["parent"]["data_source_id"] == source
    assert created["properties"]["Amount"] == {
        "id": created["properties"]["Amount"]["id"],
        "type": "number",
        "number": Decimal("412.870000001"),
    }
    assert created["properties"]["Status"]["select"]["name"] == "Due"
    schema = await call(client, "GET", f"/v1/data_sources/{source}")
    assert [o["name"] for o in schema["properties"]["Status"]["select"]["options"]] == ["Paid", "Due"]


async def test_a_query_filters_on_text_equality_and_pages_with_cursors(client: httpx.AsyncClient) -> None:
    _, source = await database(client)
    for name in ("a", "b", "c", "b"):
        await page(client, source, name)

    first = await call(client, "POST", f"/v1/data_sources/{source}/query", {"page_size": 5})
    second = await call(
        client, "POST", f"/v1/data_sources/{source}/query", {"start_cursor": first["next_cursor"]}
    )
    only_b = await call(
        client,
        "POST",
        f"/v1/data_sources/{source}/query",
        {"filter": {"property": "Key", "rich_text": {"equals": "b"}}},
    )
    titled = await call(
        client,
        "POST",
        f"/v1/data_sources/{source}/query",
        {
            "filter": {
                "or": [
                    {"property": "Name", "title": {"equals": "a"}},
                    {"property": "Name", "title": {"equals": "c"}},
                ]
            }
        },
    )

    assert (len(first["results"]), first["has_more"], first["type"]) == (2, True, "page_or_data_source")
    assert (len(second["results"]), second["has_more"], second["next_cursor"]) == (2, False, None)
    assert len({p["id"] for p in first["results"] + second["results"]}) == 4
    assert len(only_b["results"]) == 2 and len(titled["results"]) == 2


async def test_it_enforces_the_text_and_array_limits(client: httpx.AsyncClient) -> None:
    _, source = await database(client)

    too_long = await page(client, source, "x", status=400, Key={"rich_text": text("y" * 2001)})
    assert too_long["code"] == "validation_error" and "2000" in too_long["message"]
    too_many = await page(client, source, "x", status=400, Key={"rich_text": [text("y")[0]] * 101})
    assert too_many["code"] == "validation_error"
    split = await page(client, source, "x", Key={"rich_text": text("y" * 2000) + text("z")})
    assert [item["plain_text"] for item in split["properties"]["Key"]["rich_text"]] == ["y" * 2000, "z"]


async def test_a_dual_relation_rollups_and_a_formula_are_computed(client: httpx.AsyncClient) -> None:
    _, months = await database(client, "Months", {"Month": {"title": {}}})
    _, costs = await database(
        client,
        "Costs",
        {
            **COSTS,
            "Tax": {"number": {}},
            "Month": {
                "relation": {
                    "data_source_id": months,
                    "type": "dual_property",
                    "dual_property": {"synced_property_name": "Costs"},
                }
            },
        },
    )
    await call(
        client,
        "PATCH",
        f"/v1/data_sources/{costs}",
        {"properties": {"Gross": {"formula": {"expression": 'prop("Amount") + prop("Tax")'}}}},
    )
    await call(
        client,
        "PATCH",
        f"/v1/data_sources/{months}",
        {
            "properties": {
                "Total": {
                    "rollup": {
                        "relation_property_name": "Costs",
                        "rollup_property_name": "Gross",
                        "function": "sum",
                    }
                },
                "Lines": {
                    "rollup": {
                        "relation_property_name": "Costs",
                        "rollup_property_name": "Name",
                        "function": "count",
                    }
                },
            }
        },
    )
    month = await call(
        client,
        "POST",
        "/v1/pages",
        {"parent": {"data_source_id": months}, "properties": {"Month": {"title": text("2026-01")}}},
    )
    link = {"relation": [{"id": month["id"]}]}
    await page(client, costs, "a", Decimal("1.10"), Tax={"number": Decimal("0.22")}, Month=link)
    await page(client, costs, "b", Decimal("2.5"), Month=link)

    read = await call(client, "GET", f"/v1/pages/{month['id']}")

    assert read["properties"]["Total"]["rollup"] == {
        "type": "number",
        "number": Decimal("3.82"),
        "function": "sum",
    }
    assert read["properties"]["Lines"]["rollup"]["number"] == 2
    assert len(read["properties"]["Costs"]["relation"]) == 2


async def test_a_rollup_must_name_an_existing_relation(client: httpx.AsyncClient) -> None:
    _, source = await database(client)
    bad = await call(
        client,
        "PATCH",
        f"/v1/data_sources/{source}",
        {
            "properties": {
                "Total": {
                    "rollup": {
                        "relation_property_name": "Nope",
                        "rollup_property_name": "Amount",
                        "function": "sum",
                    }
                }
            }
        },
        status=400,
    )
    assert bad["code"] == "validation_error"


async def test_properties_are_renamed_and_removed_keeping_values(client: httpx.AsyncClient) -> None:
    _, source = await database(client)
    created = await page(client, source, "a", 5)

    await call(
        client,
        "PATCH",
        f"/v1/data_sources/{source}",
        {"properties": {"Amount": {"name": "Cost"}, "Status": None}},
    )
    read = await call(client, "GET", f"/v1/pages/{created['id']}")

    assert read["properties"]["Cost"]["number"] == 5 and "Status" not in read["properties"]


async def test_a_trashed_page_leaves_queries_and_cannot_be_edited(client: httpx.AsyncClient) -> None:
    _, source = await database(client)
    created = await page(client, source, "a")
    await call(client, "PATCH", f"/v1/pages/{created['id']}", {"in_trash": True})

    listed = await call(client, "POST", f"/v1/data_sources/{source}/query", {})
    edit = await call(
        client, "PATCH", f"/v1/pages/{created['id']}", {"properties": {"Amount": {"number": 1}}}, status=400
    )

    assert listed["results"] == [] and edit["code"] == "validation_error"


async def test_it_answers_429_with_an_integer_retry_after() -> None:
    emulator = create_app(EmulatorConfig(throttle_first=1, retry_after=3))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://n.test"
    ) as client:
        response = await client.get("/v1/databases/x", headers={"Notion-Version": VERSION})
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert response.json()["code"] == "rate_limited"
