"""The Notion emulator's memory: databases, their data sources (schemas), pages and values.

Schemas follow Notion's property objects (2025-09-03): ``{"id", "name", "type", <type>: config}``.
Page values are kept by property *id*, so renaming a property keeps its values. Relations marked
``dual_property`` are mirrored on the related data source. Formula and rollup values are computed
when read: formulas of the form ``prop("A") + prop("B") - 2`` (an empty number counts as 0, all
empty is empty), rollups ``count``, ``count_values``, ``sum``, ``average``, ``min``, ``max``,
``earliest_date`` and ``latest_date`` over every related page (the 25-reference truncation of
page objects applies to relation values only).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costtracker.clock import utcnow

TEXT_LIMIT, ARRAY_LIMIT, RELATION_LIMIT, REFERENCES_SHOWN = 2000, 100, 100, 25
WRITABLE = {
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "date",
    "url",
    "checkbox",
    "email",
    "phone_number",
    "relation",
}
COMPUTED = {"formula", "rollup"}
ROLLUP_FUNCTIONS = {
    "count",
    "count_values",
    "empty",
    "not_empty",
    "unique",
    "show_unique",
    "percent_empty",
    "percent_not_empty",
    "sum",
    "average",
    "median",
    "min",
    "max",
    "range",
    "earliest_date",
    "latest_date",
    "date_range",
    "checked",
    "unchecked",
    "percent_checked",
    "percent_unchecked",
    "count_per_group",
    "percent_per_group",
    "show_original",
}
FORMULA_TERM = re.compile(r'\s*([+-])?\s*(?:prop\("([^"]+)"\)|(\d+(?:\.\d+)?))\s*')


class NotionError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message: str) -> NotionError:
    return NotionError(400, "validation_error", message)


def now_text() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z")


def rich_text(content: str) -> dict[str, Any]:
    return {
        "type": "text",
        "text": {"content": content, "link": None},
        "plain_text": content,
        "href": None,
        "annotations": {
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "code": False,
            "color": "default",
        },
    }


@dataclass
class DataSource:
    id: str
    database_id: str
    title: str
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)  # property id -> property object

    def find(self, name_or_id: str) -> dict[str, Any] | None:
        if name_or_id in self.properties:
            return self.properties[name_or_id]
        return next((p for p in self.properties.values() if p["name"] == name_or_id), None)


@dataclass
class Database:
    id: str
    parent: dict[str, Any]
    title: str
    data_source_ids: list[str]
    created_time: str


@dataclass
class Page:
    id: str
    data_source_id: str
    values: dict[str, Any] = field(default_factory=dict)  # property id -> stored value
    in_trash: bool = False
    created_time: str = field(default_factory=now_text)
    last_edited_time: str = field(default_factory=now_text)


@dataclass
class Workspace:
    tokens: set[str]
    parent_pages: set[str]
    databases: dict[str, Database] = field(default_factory=dict)
    data_sources: dict[str, DataSource] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)

    # --- schema ---------------------------------------------------------------------------
    def create_database(self, parent_page: str, title: str, properties: dict[str, Any]) -> Database:
        if parent_page not in self.parent_pages:
            raise NotionError(
                404,
                "object_not_found",
                f"Could not find page with ID: {parent_page}. Make sure "
                "the relevant pages and databases are shared with your integration.",
            )
        if sum(1 for config in properties.values() if isinstance(config, dict) and "title" in config) != 1:
            raise invalid("body.initial_data_source.properties should have exactly one title property.")
        database = Database(
            str(uuid.uuid4()), {"type": "page_id", "page_id": parent_page}, title, [], now_text()
        )
        source = DataSource(str(uuid.uuid4()), database.id, title)
        self.databases[database.id] = database
        self.data_sources[source.id] = source
        database.data_source_ids.append(source.id)
        try:
            self.update_schema(source, properties)
        except NotionError:
            del self.databases[database.id], self.data_sources[source.id]
            raise
        return database

    def update_schema(self, source: DataSource, changes: dict[str, Any]) -> None:
        for key, config in changes.items():
            current = source.find(key)
            if config is None:
                if current is None:
                    raise invalid(f"{key} is not a property that exists.")
                del source.properties[current["id"]]
                continue
            if not isinstance(config, dict):
                raise invalid(f"body.properties.{key} should be an object or null.")
            self._set_property(source, key, current, config)

    def _set_property(
        self, source: DataSource, key: str, current: dict[str, Any] | None, config: dict[str, Any]
    ) -> None:
        kinds = [k for k in config if k not in ("name", "description", "type")]
        if current is None and len(kinds) != 1:
            raise invalid(f"body.properties.{key} should define exactly one property type.")
        prop = current or {"id": self._property_id(source, key, kinds[0]), "name": key}
        if "name" in config:
            clash = source.find(config["name"])
            if clash is not None and clash is not current:
                raise invalid(f"A property named {config['name']} already exists.")
            prop["name"] = config["name"]
        if kinds:
            kind = kinds[0]
            prop["type"], prop[kind] = kind, self._configure(source, prop, kind, config[kind])
            for other in [k for k in list(prop) if k not in ("id", "name", "type", "description", kind)]:
                del prop[other]
        prop.setdefault("description", None)
        source.properties[prop["id"]] = prop

    def _property_id(self, source: DataSource, name: str, kind: str) -> str:
        if kind == "title":
            return "title"
        digest = hashlib.sha256(f"{source.id}/{name}/{len(source.properties)}".encode()).hexdigest()
        return f"{digest[:2]}%3B{digest[2:4]}"

    def _configure(self, source: DataSource, prop: dict[str, Any], kind: str, config: Any) -> Any:
        if not isinstance(config, dict):
            raise invalid(f"body.properties.{prop['name']}.{kind} should be an object.")
        if kind == "number":
            return {"format": config.get("format", "number")}
        if kind in ("select", "multi_select"):
            options = [
                {
                    "id": uuid.uuid4().hex[:8],
                    "name": o["name"],
                    "color": o.get("color", "default"),
                    "description": None,
                }
                for o in config.get("options", [])
            ]
            return {"options": options}
        if kind == "relation":
            return self._relation(source, prop, config)
        if kind == "rollup":
            return self._rollup(source, config)
        if kind == "formula":
            return self._formula(source, config)
        if kind in WRITABLE or kind in ("created_time", "last_edited_time"):
            return {}
        raise invalid(f"Property type {kind} is not supported by this emulator.")

    def _relation(self, source: DataSource, prop: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        target = self.data_sources.get(str(config.get("data_source_id", "")))
        if target is None:
            if "database_id" in config:
                raise invalid("relation.database_id is the 2022-06-28 shape: use relation.data_source_id.")
            raise NotionError(
                404,
                "object_not_found",
                f"Could not find data source with ID: {config.get('data_source_id')}.",
            )
        out: dict[str, Any] = {"database_id": target.database_id, "data_source_id": target.id}
        if config.get("type", "dual_property") == "single_property":
            return {**out, "type": "single_property", "single_property": {}}
        wanted = (config.get("dual_property") or {}).get("synced_property_name")
        synced_name = wanted or f"Related to {source.title} ({prop['name']})"
        mirror = target.find(synced_name)
        if mirror is None:
            mirror = {
                "id": self._property_id(target, synced_name, "relation"),
                "name": synced_name,
                "description": None,
                "type": "relation",
            }
            target.properties[mirror["id"]] = mirror
        mirror["relation"] = {
            "database_id": source.database_id,
            "data_source_id": source.id,
            "type": "dual_property",
            "dual_property": {"synced_property_id": prop["id"], "synced_property_name": prop["name"]},
        }
        return {
            **out,
            "type": "dual_property",
            "dual_property": {"synced_property_id": mirror["id"], "synced_property_name": mirror["name"]},
        }

    def _rollup(self, source: DataSource, config: dict[str, Any]) -> dict[str, Any]:
        relation = source.find(
            str(config.get("relation_property_id") or config.get("relation_property_name"))
        )
        if relation is None or relation.get("type") != "relation":
            raise invalid(
                "rollup.relation_property_name should name a relation property of this data source."
            )
        target = self.data_sources[relation["relation"]["data_source_id"]]
        rolled = target.find(str(config.get("rollup_property_id") or config.get("rollup_property_name")))
        if rolled is None:
            raise invalid("rollup.rollup_property_name should name a property of the related data source.")
        if config.get("function") not in ROLLUP_FUNCTIONS:
            raise invalid(f"rollup.function should be one of {', '.join(sorted(ROLLUP_FUNCTIONS))}.")
        return {
            "relation_property_name": relation["name"],
            "relation_property_id": relation["id"],
            "rollup_property_name": rolled["name"],
            "rollup_property_id": rolled["id"],
            "function": config["function"],
        }

    def _formula(self, source: DataSource, config: dict[str, Any]) -> dict[str, Any]:
        expression = str(config.get("expression", ""))
        for name in re.findall(r'prop\("([^"]+)"\)', expression):
            if source.find(name) is None:
                raise invalid(f"Formula references a property that does not exist: {name}.")
        return {"expression": expression}

    # --- values ---------------------------------------------------------------------------
    def write(self, page: Page, source: DataSource, properties: dict[str, Any]) -> None:
        staged: dict[str, Any] = {}
        for key, value in properties.items():
            prop = source.find(key)
            if prop is None:
                raise invalid(f"{key} is not a property that exists.")
            if prop["type"] in COMPUTED:
                raise invalid(f"{prop['name']} is a {prop['type']} property: its value cannot be set.")
            staged[prop["id"]] = self._value(prop, value)
        for prop_id, value in staged.items():
            prop = source.properties[prop_id]
            if prop["type"] == "relation":
                self._link(page, prop, value)
            page.values[prop_id] = value
        page.last_edited_time = now_text()

    def _value(self, prop: dict[str, Any], value: Any) -> Any:
        kind = prop["type"]
        if not isinstance(value, dict) or kind not in value:
            raise invalid(f"{prop['name']} is expected to be {kind}.")
        raw = value[kind]
        if kind in ("title", "rich_text"):
            return _texts(prop["name"], raw)
        if kind == "number":
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | Decimal)):
                raise invalid(f"{prop['name']}.number should be a number or null.")
            return None if raw is None else Decimal(raw)
        if kind == "select":
            return None if raw is None else self._option(prop, raw)
        if kind == "relation":
            if not isinstance(raw, list) or len(raw) > RELATION_LIMIT:
                raise invalid(f"{prop['name']}.relation should be a list of at most {RELATION_LIMIT} pages.")
            ids = [str(item.get("id")) for item in raw]
            target = prop["relation"]["data_source_id"]
            for page_id in ids:
                if page_id not in self.pages or self.pages[page_id].data_source_id != target:
                    raise invalid(f"{prop['name']}: {page_id} is not a page of the related data source.")
            return ids
        if kind in ("url", "email", "phone_number") and raw is not None and len(str(raw)) > TEXT_LIMIT:
            raise invalid(f"{prop['name']}.{kind}.length should be ≤ {TEXT_LIMIT}.")
        return raw

    def _option(self, prop: dict[str, Any], raw: Any) -> str:
        name = raw.get("name") if isinstance(raw, dict) else None
        if not name:
            raise invalid(f"{prop['name']}.select should have a name.")
        options = prop["select"]["options"]
        if all(option["name"] != name for option in options):
            options.append(
                {"id": uuid.uuid4().hex[:8], "name": name, "color": "default", "description": None}
            )
        return str(name)

    def _link(self, page: Page, prop: dict[str, Any], ids: list[str]) -> None:
        """Mirror a dual relation on the related pages."""
        config = prop["relation"]
        if config.get("type") != "dual_property":
            return
        mirror_id = config["dual_property"]["synced_property_id"]
        for other in self.pages.values():
            if other.data_source_id == config["data_source_id"]:
                linked = [i for i in other.values.get(mirror_id, []) if i != page.id]
                other.values[mirror_id] = [*linked, page.id] if other.id in ids else linked

    # --- reading --------------------------------------------------------------------------
    def plain(self, page: Page, name: str) -> Any:
        """A property's value as Python: text joined, Decimal, option name, page ids, computed values."""
        source = self.data_sources[page.data_source_id]
        prop = source.find(name)
        if prop is None:
            raise KeyError(name)
        if prop["type"] == "formula":
            return self.formula(page, source, prop)
        if prop["type"] == "rollup":
            return self.rollup(page, source, prop)
        value = page.values.get(prop["id"])
        if prop["type"] in ("title", "rich_text"):
            return "".join(item["plain_text"] for item in value or [])
        if prop["type"] == "relation":
            return list(value or [])
        return value

    def formula(self, page: Page, source: DataSource, prop: dict[str, Any]) -> Decimal | None:
        expression, total, seen, position = prop["formula"]["expression"], Decimal(0), False, 0
        while position < len(expression):
            match = FORMULA_TERM.match(expression, position)
            if match is None or match.end() == position:
                return None
            sign, name, number = match.groups()
            value = Decimal(number) if number else self.plain(page, name)
            if value is not None:
                seen = True
                total += -Decimal(value) if sign == "-" else Decimal(value)
            position = match.end()
        return total if seen else None

    def rollup(self, page: Page, source: DataSource, prop: dict[str, Any]) -> Any:
        config = prop["rollup"]
        related = [
            self.pages[i] for i in page.values.get(config["relation_property_id"], []) if i in self.pages
        ]
        related = [p for p in related if not p.in_trash]
        if config["function"] == "count":
            return Decimal(len(related))
        target = self.data_sources[
            source.properties[config["relation_property_id"]]["relation"]["data_source_id"]
        ]
        name = target.properties[config["rollup_property_id"]]["name"]
        values = [v for v in (self.plain(p, name) for p in related) if v not in (None, "", [])]
        return _aggregate(config["function"], values)


def _aggregate(function: str, values: list[Any]) -> Any:
    if function == "count_values":
        return Decimal(len(values))
    if function in ("earliest_date", "latest_date"):
        starts = sorted(v["start"] for v in values if isinstance(v, dict) and v.get("start"))
        return (
            None
            if not starts
            else {
                "start": starts[0] if function == "earliest_date" else starts[-1],
                "end": None,
                "time_zone": None,
            }
        )
    numbers = [Decimal(v) for v in values if isinstance(v, int | Decimal)]
    if function == "sum":
        return sum(numbers, Decimal(0))
    if not numbers:
        return None
    if function == "average":
        return sum(numbers, Decimal(0)) / len(numbers)
    if function in ("min", "max"):
        return min(numbers) if function == "min" else max(numbers)
    return None


def _texts(name: str, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or len(raw) > ARRAY_LIMIT:
        raise invalid(f"body.properties.{name} should be an array of at most {ARRAY_LIMIT} rich text items.")
    items = []
    for item in raw:
        content = (item.get("text") or {}).get("content") if isinstance(item, dict) else None
        if not isinstance(content, str):
            raise invalid(f"body.properties.{name}[].text.content should be a string.")
        if len(content) > TEXT_LIMIT:
            raise invalid(
                f"body.properties.{name}[].text.content.length should be ≤ {TEXT_LIMIT}, "
                f"instead was {len(content)}."
            )
        items.append(rich_text(content))
    return items
