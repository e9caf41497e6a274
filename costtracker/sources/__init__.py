"""The sources costtracker collects from, registered in one place.

``SOURCES`` maps a stable short key to the class that knows that provider's API, imported
lazily so a broken optional dependency of one source cannot stop the others. Everything else
(the CLI, settings docs, the UI's provider list, test parametrisation, the demo's emulators at
``costtracker.emulators.<key>``) is derived from this mapping.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from costtracker.sources.base import Source

SOURCES: dict[str, str] = {
    "openai": "costtracker.sources.openai:OpenAISource",
    "anthropic": "costtracker.sources.anthropic:AnthropicSource",
    "openrouter": "costtracker.sources.openrouter:OpenRouterSource",
    "elevenlabs": "costtracker.sources.elevenlabs:ElevenLabsSource",
    "deepgram": "costtracker.sources.deepgram:DeepgramSource",
    "mistral": "costtracker.sources.mistral:MistralSource",
}


def load_source(key: str) -> type[Source]:
    """The source class registered under ``key`` (KeyError when there is none)."""
    module_name, _, class_name = SOURCES[key].partition(":")
    source: type[Source] = getattr(import_module(module_name), class_name)
    return source


def available_sources() -> dict[str, type[Source]]:
    """Every registered source whose module exists (a source being written may not yet)."""
    found: dict[str, type[Source]] = {}
    for key in SOURCES:
        try:
            found[key] = load_source(key)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("costtracker.sources."):
                continue
            raise
    return found
