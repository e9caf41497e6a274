"""Serving emulators on loopback (``costtracker emulate``, the demo, end-to-end tests, benchmarks)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from costtracker.emulators import emulator_module
from costtracker.emulators.base import Emulator, EmulatorConfig
from costtracker.sources import available_sources

LOOPBACK = "127.0.0.1"


@dataclass
class Served:
    key: str
    emulator: Emulator
    port: int

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def environment(self) -> dict[str, str]:
        """What points costtracker at this emulator: its demo keys and the base URL override."""
        module = emulator_module(self.key)
        return {**module.DEMO_ENV, f"COSTTRACKER_{self.key.upper()}_BASE_URL": self.origin}


def bind(port: int = 0, host: str = LOOPBACK) -> socket.socket:
    """A listening socket (port 0: any free port), handed to Uvicorn."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def server_for(app: Any) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


DELIVERY_EMULATORS = ("resend", "notion")  # where the monthly report goes, after the sources


def emulated_keys(only: list[str] | None = None, *, delivery: bool = False) -> list[str]:
    """The sources' emulators (in registry order), and with ``delivery`` the report's targets too."""
    keys = [*available_sources(), *(DELIVERY_EMULATORS if delivery else ())]
    return [key for key in keys if not only or key in only]


@asynccontextmanager
async def serve_emulators(
    keys: list[str], *, first_port: int = 0, config: EmulatorConfig | None = None
) -> AsyncIterator[list[Served]]:
    """Run the emulators of ``keys`` on loopback until the block ends."""
    served, servers, tasks = [], [], []
    for index, key in enumerate(keys):
        emulator = emulator_module(key).create_app(config or EmulatorConfig())
        sock = bind(first_port + index if first_port else 0)
        server = server_for(emulator)
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
        served.append(Served(key, emulator, sock.getsockname()[1]))
    while not all(server.started for server in servers):
        failed = [key for key, task in zip(keys, tasks, strict=True) if task.done()]
        if failed:
            raise RuntimeError(f"the {failed[0]} emulator could not start")
        await asyncio.sleep(0.02)
    try:
        yield served
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
