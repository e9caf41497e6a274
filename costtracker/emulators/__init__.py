"""Local stand-ins for every external API, following each provider's documented contract.

One module per source, named like the source (``costtracker.emulators.openai``), each with
``create_app(config) -> Emulator`` and ``DEMO_ENV`` (the keys the demo configures). They power
the offline tests, ``costtracker emulate`` and ``costtracker demo``.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


def emulator_module(key: str) -> ModuleType:
    """The emulator module of a source or delivery target (``openai``, ``notion``...)."""
    return import_module(f"costtracker.emulators.{key}")
