"""Notion's API (version 2025-09-03, data sources), offline and in memory.

Follows developers.notion.com (database, data source, page, property objects; query; status
codes; request limits) and notion-sdk-js 5.x / notion-client 3.x. Serves ``POST /v1/databases``
(schema in ``initial_data_source``), ``GET /v1/databases/{id}``, ``GET|PATCH
/v1/data_sources/{id}`` (add, rename with ``name``, remove with ``null``), ``POST
/v1/data_sources/{id}/query`` (title / rich_text / select / number filters, ``and`` / ``or``,
cursor pages of ``page_size`` ≤ 100, or the config's smaller ``page_size``), ``POST /v1/pages``
(parent ``data_source_id``, or ``database_id`` of a single-source database), ``GET|PATCH
/v1/pages/{id}``. Checks the bearer token (401 ``unauthorized``) and ``Notion-Version``
(missing: 400 ``missing_version``; another version: 400, this emulator speaks 2025-09-03 only),
text objects ≤ 2000 characters, arrays ≤ 100 items, relations ≤ 100 pages (400
``validation_error``). Numbers are read and written as exact decimals. 429 ``rate_limited`` with
an integer ``Retry-After`` comes from the shared fault knobs (``throttle_first``,
``rate_limit_per_second``...). The 2022-06-28 ``/v1/databases/{id}/query`` answers 400
``invalid_request_url``, as under 2025-09-03.

``emulator.dataset`` is the :class:`~costtracker.emulators.notion_store.Workspace`; one parent
page, ``DEMO_PARENT_PAGE``, is shared with the integration. Knobs in ``EmulatorConfig.extra``:
``tokens`` (extra accepted tokens), ``parent_pages`` (extra page ids).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from costtracker import exactjson
from costtracker.emulators.base import Emulator, EmulatorConfig, bearer, decode_page, encode_page
from costtracker.emulators.notion_store import (
    REFERENCES_SHOWN,
    Database,
    DataSource,
    NotionError,
    Page,
    Workspace,
    invalid,
    rich_text,
)

VERSION = "2025-09-03"
DEMO_TOKEN = "ntn_demo_4b1d7e0c92a35f68"  # noqa: S105 (a demo token the emulator accepts)
DEMO_PARENT_PAGE = "1f0c2a7e-5b3d-4e8a-9c61-2d7f4a0b8e13"
DEMO_ENV = {"NOTION_API_KEY": DEMO_TOKEN}
CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "restricted_resource",
    404: "object_not_found",
    409: "conflict_error",
    429: "rate_limited",
    500: "internal_server_error",
    503: "service_unavailable",
}

Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    return {
        "object": "error",
        "status": status,
        "code": code or CODES.get(status, "internal_server_error"),
        "message": message,
        "request_id": str(uuid.uuid4()),
    }


class ExactJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return exactjson.dumps(content).encode("utf-8")


class NotionApi:
    def __init__(self, workspace: Workspace, config: EmulatorConfig) -> None:
        self.ws = workspace
        self.page_size = min(config.page_size or 100, 100)

    def guarded(self, handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            version = request.headers.get("notion-version")
            if not version:
                raise NotionError(
                    400,
                    "missing_version",
                    "Notion-Version header failed validation: "
                    "Notion-Version header should be defined, instead was `undefined`.",
                )
            if version != VERSION:
                raise NotionError(
                    400,
                    "validation_error",
                    f"Notion-Version {version} is not served by this emulator: it speaks {VERSION} only.",
                )
            if bearer(request) not in self.ws.tokens:
                raise NotionError(401, "unauthorized", "API token is invalid.")
            return await handler(request)

        return run

    async def body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = exactjson.loads(raw) if raw else {}
        except ValueError:
            raise NotionError(400, "invalid_json", "Error parsing JSON body.") from None
        if not isinstance(body, dict):
            raise invalid("body should be an object.")
        return body

    # --- databases and data sources -------------------------------------------------------
    async def create_database(self, request: Request) -> Response:
        body = await self.body(request)
        if "properties" in body:
            raise invalid(
                "body.properties is the 2022-06-28 shape: under 2025-09-03 the schema goes in "
                "body.initial_data_source.properties."
            )
        parent = body.get("parent") or {}
        properties = (body.get("initial_data_source") or {}).get("properties") or {"Name": {"title": {}}}
        title = "".join(item.get("text", {}).get("content", "") for item in body.get("title") or [])
        database = self.ws.create_database(str(parent.get("page_id", "")), title, properties)
        return ExactJSON(self.database_json(database))

    async def get_database(self, request: Request) -> Response:
        return ExactJSON(self.database_json(self.database(request.path_params["id"])))

    async def get_data_source(self, request: Request) -> Response:
        return ExactJSON(self.data_source_json(self.data_source(request.path_params["id"])))

    async def update_data_source(self, request: Request) -> Response:
        source = self.data_source(request.path_params["id"])
        body = await self.body(request)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise invalid("body.properties should be an object.")
        self.ws.update_schema(source, properties)
        return ExactJSON(self.data_source_json(source))

    async def old_query(self, request: Request) -> Response:
        raise NotionError(
            400,
            "invalid_request_url",
            "Invalid request URL: under 2025-09-03 query POST /v1/data_sources/{data_source_id}/query.",
        )

    async def query(self, request: Request) -> Response:
        source = self.data_source(request.path_params["id"])
        body = await self.body(request)
        size = body.get("page_size", 100)
        if not isinstance(size, int) or not 1 <= size <= 100:
            raise invalid("body.page_size should be an integer between 1 and 100.")
        size = min(size, self.page_size)
        start = decode_page(body.get("start_cursor")) if body.get("start_cursor") else 0
        if start is None:
            raise invalid("body.start_cursor should be a cursor returned by a previous query.")
        trashed = bool(body.get("in_trash") or body.get("archived"))
        found = [
            p
            for p in self.ws.pages.values()
            if p.data_source_id == source.id
            and p.in_trash == trashed
            and (not body.get("filter") or self.matches(p, source, body["filter"]))
        ]
        chunk = found[start : start + size]
        more = start + size < len(found)
        return ExactJSON(
            {
                "object": "list",
                "results": [self.page_json(p) for p in chunk],
                "next_cursor": encode_page(start + size) if more else None,
                "has_more": more,
                "type": "page_or_data_source",
                "page_or_data_source": {},
            }
        )

    def matches(self, page: Page, source: DataSource, condition: Any) -> bool:
        if not isinstance(condition, dict):
            raise invalid("body.filter should be an object.")
        if "and" in condition:
            return all(self.matches(page, source, c) for c in condition["and"])
        if "or" in condition:
            return any(self.matches(page, source, c) for c in condition["or"])
        prop = source.find(str(condition.get("property", "")))
        if prop is None:
            raise invalid(f"Could not find property with name or id: {condition.get('property')}")
        kind = next((k for k in ("title", "rich_text", "select", "number") if k in condition), None)
        if kind is None:
            raise invalid("body.filter: only title, rich_text, select and number filters are emulated.")
        return _test(self.ws.plain(page, prop["name"]), condition[kind])

    # --- pages ----------------------------------------------------------------------------
    async def create_page(self, request: Request) -> Response:
        body = await self.body(request)
        source = self.parent_source(body.get("parent") or {})
        page = Page(str(uuid.uuid4()), source.id)
        properties = body.get("properties") or {}
        self.ws.write(page, source, properties)
        self.ws.pages[page.id] = page
        return ExactJSON(self.page_json(page))

    async def get_page(self, request: Request) -> Response:
        return ExactJSON(self.page_json(self.page(request.path_params["id"])))

    async def update_page(self, request: Request) -> Response:
        page = self.page(request.path_params["id"])
        body = await self.body(request)
        if page.in_trash and not ("in_trash" in body or "archived" in body):
            raise invalid("Can't edit block that is archived. You must unarchive the block before editing.")
        if "in_trash" in body or "archived" in body:
            page.in_trash = bool(body.get("in_trash", body.get("archived")))
        self.ws.write(page, self.ws.data_sources[page.data_source_id], body.get("properties") or {})
        return ExactJSON(self.page_json(page))

    def parent_source(self, parent: dict[str, Any]) -> DataSource:
        if "data_source_id" in parent:
            return self.data_source(str(parent["data_source_id"]))
        if "database_id" in parent:
            database = self.database(str(parent["database_id"]))
            if len(database.data_source_ids) != 1:
                raise invalid("parent.database_id has several data sources: use parent.data_source_id.")
            return self.ws.data_sources[database.data_source_ids[0]]
        raise invalid(
            "body.parent should be a data_source_id (or the database_id of a single-source database)."
        )

    # --- lookups and shapes ---------------------------------------------------------------
    def database(self, database_id: str) -> Database:
        return _get(self.ws.databases, database_id, "database")

    def data_source(self, source_id: str) -> DataSource:
        return _get(self.ws.data_sources, source_id, "data source")

    def page(self, page_id: str) -> Page:
        return _get(self.ws.pages, page_id, "page")

    def database_json(self, database: Database) -> dict[str, Any]:
        return {
            "object": "database",
            "id": database.id,
            "title": [rich_text(database.title)],
            "description": [],
            "parent": database.parent,
            "is_inline": False,
            "in_trash": False,
            "archived": False,
            "is_locked": False,
            "created_time": database.created_time,
            "last_edited_time": database.created_time,
            "icon": None,
            "cover": None,
            "data_sources": [
                {"id": i, "name": self.ws.data_sources[i].title} for i in database.data_source_ids
            ],
            "url": f"https://www.notion.so/{database.id.replace('-', '')}",
            "public_url": None,
        }

    def data_source_json(self, source: DataSource) -> dict[str, Any]:
        database = self.ws.databases[source.database_id]
        return {
            "object": "data_source",
            "id": source.id,
            "title": [rich_text(source.title)],
            "description": [],
            "parent": {"type": "database_id", "database_id": database.id},
            "database_parent": database.parent,
            "in_trash": False,
            "archived": False,
            "created_time": database.created_time,
            "last_edited_time": database.created_time,
            "properties": {p["name"]: p for p in source.properties.values()},
            "icon": None,
            "cover": None,
            "url": f"https://www.notion.so/{source.id.replace('-', '')}",
            "public_url": None,
        }

    def page_json(self, page: Page) -> dict[str, Any]:
        source = self.ws.data_sources[page.data_source_id]
        user = {"object": "user", "id": "ee5f0f84-409a-440f-983a-a5315961c6e4"}
        return {
            "object": "page",
            "id": page.id,
            "created_time": page.created_time,
            "last_edited_time": page.last_edited_time,
            "created_by": user,
            "last_edited_by": user,
            "in_trash": page.in_trash,
            "archived": page.in_trash,
            "is_locked": False,
            "url": f"https://www.notion.so/{page.id.replace('-', '')}",
            "public_url": None,
            "parent": {
                "type": "data_source_id",
                "data_source_id": source.id,
                "database_id": source.database_id,
            },
            "icon": None,
            "cover": None,
            "properties": {p["name"]: self.value_json(page, source, p) for p in source.properties.values()},
        }

    def value_json(self, page: Page, source: DataSource, prop: dict[str, Any]) -> dict[str, Any]:
        kind, stored = prop["type"], page.values.get(prop["id"])
        out: dict[str, Any] = {"id": prop["id"], "type": kind}
        if kind == "formula":
            out["formula"] = {"type": "number", "number": self.ws.formula(page, source, prop)}
        elif kind == "rollup":
            value = self.ws.rollup(page, source, prop)
            shape = (
                "date"
                if isinstance(value, dict) or prop["rollup"]["function"].endswith("_date")
                else "number"
            )
            out["rollup"] = {"type": shape, shape: value, "function": prop["rollup"]["function"]}
        elif kind == "relation":
            ids = list(stored or [])
            out["relation"] = [{"id": i} for i in ids[:REFERENCES_SHOWN]]
            out["has_more"] = len(ids) > REFERENCES_SHOWN
        elif kind == "select":
            option = next((o for o in prop["select"]["options"] if o["name"] == stored), None)
            out["select"] = option
        elif kind in ("title", "rich_text"):
            out[kind] = stored or []
        else:
            out[kind] = stored
        return out


def _get(table: dict[str, T], key: str, what: str) -> T:
    found = table.get(key) or table.get(_dashed(key))
    if found is None:
        raise NotionError(
            404,
            "object_not_found",
            f"Could not find {what} with ID: {key}. Make sure the "
            "relevant pages and databases are shared with your integration.",
        )
    return found


def _dashed(key: str) -> str:
    raw = key.replace("-", "")
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}" if len(raw) == 32 else key


def _test(value: Any, condition: Any) -> bool:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise invalid("body.filter: a property condition has exactly one operator.")
    operator, expected = next(iter(condition.items()))
    tests: dict[str, Callable[[], bool]] = {
        "equals": lambda: value == expected,
        "does_not_equal": lambda: value != expected,
        "contains": lambda: isinstance(value, str) and str(expected) in value,
        "does_not_contain": lambda: isinstance(value, str) and str(expected) not in value,
        "starts_with": lambda: isinstance(value, str) and value.startswith(str(expected)),
        "ends_with": lambda: isinstance(value, str) and value.endswith(str(expected)),
        "is_empty": lambda: value in (None, "", []),
        "is_not_empty": lambda: value not in (None, "", []),
        "greater_than": lambda: value is not None and value > expected,
        "less_than": lambda: value is not None and value < expected,
    }
    if operator not in tests:
        raise invalid(f"body.filter: the operator {operator} is not emulated.")
    return tests[operator]()


async def _notion_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotionError)
    return ExactJSON(error_body(exc.status, exc.message, exc.code), exc.status)


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    config = config or EmulatorConfig()
    workspace = Workspace(
        tokens={DEMO_TOKEN, *config.extra.get("tokens", ())},
        parent_pages={DEMO_PARENT_PAGE, *config.extra.get("parent_pages", ())},
    )
    api = NotionApi(workspace, config)
    g = api.guarded
    app = Starlette(
        routes=[
            Route("/v1/databases", g(api.create_database), methods=["POST"]),
            Route("/v1/databases/{id}", g(api.get_database), methods=["GET"]),
            Route("/v1/databases/{id}/query", g(api.old_query), methods=["POST"]),
            Route("/v1/data_sources/{id}", g(api.get_data_source), methods=["GET"]),
            Route("/v1/data_sources/{id}", g(api.update_data_source), methods=["PATCH"]),
            Route("/v1/data_sources/{id}/query", g(api.query), methods=["POST"]),
            Route("/v1/pages", g(api.create_page), methods=["POST"]),
            Route("/v1/pages/{id}", g(api.get_page), methods=["GET"]),
            Route("/v1/pages/{id}", g(api.update_page), methods=["PATCH"]),
        ],
        exception_handlers={NotionError: _notion_error},
    )
    return Emulator(app, config, error_body, workspace)
