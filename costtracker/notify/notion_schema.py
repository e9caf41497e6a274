"""The two linked Notion databases of the seed, "Services" and "Usages", and their property names.

Names default to the seed's French ones and each may be renamed with
``COSTTRACKER_NOTION_PROPERTIES`` (a JSON object, e.g. ``{"usages.cost": "Cost USD"}``); the same
object renames the select options (``status.failed``...). The definitions here are what
``notion setup`` creates and what ``sync`` checks before writing. ``usages.key`` is ours, not the
seed's: a stable key (month, provider, workspace, project id) that re-syncs match on, because a
title can change or repeat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from costtracker.errors import ConfigError
from costtracker.settings import Settings

SETTING = "COSTTRACKER_NOTION_PROPERTIES"
SERVICES_TITLE, USAGES_TITLE = "Services LLM", "Usages LLM"

# key -> (default name, type). The first of each database is its title.
SERVICES: dict[str, tuple[str, str]] = {
    "services.name": ("Nom", "title"),
    "services.status": ("Statut", "select"),
    "services.console_url": ("URL Console", "url"),
    "services.provider_id": ("ID Provider", "rich_text"),
    "services.notes": ("Notes", "rich_text"),
    "services.usages": ("Usages", "relation"),
    "services.total_cost": ("Total Coût USD", "rollup"),
    "services.total_tokens": ("Total Tokens", "rollup"),
    "services.collections": ("Nombre Collectes", "rollup"),
    "services.last_collection": ("Dernière Collecte", "rollup"),
}
USAGES: dict[str, tuple[str, str]] = {
    "usages.identifier": ("Identifiant", "title"),
    "usages.key": ("Clé", "rich_text"),
    "usages.service": ("Service", "relation"),
    "usages.month": ("Mois", "rich_text"),
    "usages.project": ("Projet/API Key", "rich_text"),
    "usages.workspace": ("Workspace", "rich_text"),
    "usages.models": ("Modèles", "rich_text"),
    "usages.tokens_in": ("Tokens Input", "number"),
    "usages.tokens_out": ("Tokens Output", "number"),
    "usages.tokens_total": ("Tokens Total", "formula"),
    "usages.cost": ("Coût USD", "number"),
    "usages.requests": ("Requêtes", "number"),
    "usages.breakdown": ("Breakdown JSON", "rich_text"),
    "usages.collected_at": ("Collecté Le", "date"),
    "usages.collection_status": ("Statut Collecte", "select"),
    "usages.log_status": ("Log Status", "rich_text"),
}
LABELS: dict[str, str] = {
    "status.success": "Succès",
    "status.failed": "Échec",
    "status.partial": "Partiel",
    "status.unavailable": "Données indisponibles",
    "status.skipped": "Non collecté",
    "service.active": "Actif",
    "service.inactive": "Inactif",
    "service.awaiting_api": "En attente API",
}
COLOURS = {
    "success": "green",
    "failed": "red",
    "partial": "orange",
    "unavailable": "gray",
    "skipped": "default",
    "active": "green",
    "inactive": "gray",
    "awaiting_api": "yellow",
}
# What sync writes (and so checks exists with this type before writing).
SERVICE_WRITES = ("services.name", "services.status", "services.console_url", "services.provider_id")
USAGE_WRITES = tuple(key for key, (_, kind) in USAGES.items() if kind not in ("formula",))


@dataclass(frozen=True)
class NotionSchema:
    names: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> NotionSchema:
        overrides: dict[str, str] = (
            json.loads(settings.notion_properties) if settings.notion_properties else {}
        )
        known = {**{k: v[0] for k, v in {**SERVICES, **USAGES}.items()}, **LABELS}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ConfigError(SETTING, f"unknown key {', '.join(unknown)}; known keys: {', '.join(known)}")
        names = {**known, **{key: value.strip() for key, value in overrides.items()}}
        for table in (SERVICES, USAGES):
            chosen = [names[key] for key in table]
            if len(set(chosen)) != len(chosen):
                raise ConfigError(SETTING, f"two properties of one database have the same name ({chosen})")
        return cls(names)

    def __getitem__(self, key: str) -> str:
        return self.names[key]

    def label(self, group: str, value: str) -> str:
        return self.names.get(f"{group}.{value}", value)

    def kind(self, key: str) -> str:
        return {**SERVICES, **USAGES}[key][1]

    def _options(self, group: str) -> dict[str, Any]:
        keys = [key.split(".", 1)[1] for key in LABELS if key.startswith(group + ".")]
        return {"options": [{"name": self.label(group, k), "color": COLOURS[k]} for k in keys]}

    def definition(self, key: str, *, services_source: str | None = None) -> dict[str, Any]:
        """The property object to create ``key`` with (relation: needs the Services data source)."""
        kind = self.kind(key)
        if key == "services.status":
            return {"select": self._options("service")}
        if key == "usages.collection_status":
            return {"select": self._options("status")}
        if key == "usages.cost":
            return {"number": {"format": "dollar"}}
        if kind == "number":
            return {"number": {"format": "number_with_commas"}}
        if key == "usages.service":
            return {
                "relation": {
                    "data_source_id": services_source,
                    "type": "dual_property",
                    "dual_property": {"synced_property_name": self["services.usages"]},
                }
            }
        if key == "usages.tokens_total":
            return {
                "formula": {
                    "expression": f'prop("{self["usages.tokens_in"]}") + prop("{self["usages.tokens_out"]}")'
                }
            }
        return {kind: {}}

    def services_properties(self) -> dict[str, Any]:
        """The Services schema without the relation and rollups (they need the Usages database)."""
        plain = [key for key, (_, kind) in SERVICES.items() if kind not in ("relation", "rollup")]
        return {self[key]: self.definition(key) for key in plain}

    def usages_properties(self, services_source: str) -> dict[str, Any]:
        """The Usages schema with its relation to Services, without the formula (added next)."""
        keys = [key for key, (_, kind) in USAGES.items() if kind != "formula"]
        return {self[key]: self.definition(key, services_source=services_source) for key in keys}

    def usages_formula(self) -> dict[str, Any]:
        return {self["usages.tokens_total"]: self.definition("usages.tokens_total")}

    def services_rollups(self) -> dict[str, Any]:
        relation = self["services.usages"]

        def rollup(of: str, function: str) -> dict[str, Any]:
            return {
                "rollup": {
                    "relation_property_name": relation,
                    "rollup_property_name": self[of],
                    "function": function,
                }
            }

        return {
            self["services.total_cost"]: rollup("usages.cost", "sum"),
            self["services.total_tokens"]: rollup("usages.tokens_total", "sum"),
            self["services.collections"]: rollup("usages.identifier", "count"),
            self["services.last_collection"]: rollup("usages.collected_at", "latest_date"),
        }
