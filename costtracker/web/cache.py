"""Answers of the read API kept for a few minutes (the seed's 5-minute cache), never stale data.

An answer is stored under its route, its parameters (``refresh`` aside) and the asker's role,
with the ledger generations it was computed from (:mod:`costtracker.store.generations`). It is
served again only while it is younger than ``COSTTRACKER_CACHE_SECONDS`` *and* those
generations are unchanged, so a collection made by any process (the worker, the CLI, another
web replica) invalidates what it changed at the next request. ``refresh=true`` computes the
answer again and stores it. The cache lives in the process; it holds no secret (answers are
the same JSON every reader of that role gets).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request, Response
from sqlalchemy.orm import Session

from costtracker.clock import utcnow
from costtracker.store.generations import generations

T = TypeVar("T")
MAX_ENTRIES = 1024
_CREATING = threading.Lock()


@dataclass(frozen=True)
class Entry:
    value: Any
    stored: float  # monotonic seconds
    stored_at: datetime
    generation: tuple[tuple[str, int], ...]


class ResponseCache:
    """A small LRU with a time to live; thread-safe (sync routes run in a thread pool)."""

    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], generation: tuple[tuple[str, int], ...]) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.generation != generation or self.clock() - entry.stored >= self.ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[Any, ...], generation: tuple[tuple[str, int], ...], value: Any) -> Entry:
        entry = Entry(value, self.clock(), utcnow(), generation)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def app_cache(request: Request) -> ResponseCache:
    """The app's cache, made on first use with the configured time to live."""
    state = request.app.state
    with _CREATING:
        if getattr(state, "response_cache", None) is None:
            state.response_cache = ResponseCache(state.settings.cache_seconds)
    cache: ResponseCache = state.response_cache
    return cache


def cache_key(request: Request, params: Mapping[str, Any]) -> tuple[Any, ...]:
    principal = getattr(request.state, "principal", None)
    role = (principal.role or principal.kind) if principal is not None else "anonymous"
    chosen = tuple(sorted((name, str(value)) for name, value in params.items() if value is not None))
    return (request.url.path, chosen, str(role))


@dataclass(frozen=True)
class Served:
    """An answer and how it was obtained: ``hit``, ``miss``, ``refresh`` or ``off``."""

    value: Any
    state: str
    stored_at: datetime
    age: int = 0

    def headers(self) -> dict[str, str]:
        found = {"X-Cache": self.state}
        if self.state == "hit":
            found["Age"] = str(self.age)
        return found


def lookup(
    request: Request,
    session: Session,
    *,
    params: Mapping[str, Any],
    providers: list[str] | None,
    refresh: bool,
    compute: Callable[[], Any],
) -> Served:
    """``compute()``, or the answer kept for the same request while the data it read is unchanged.

    ``providers``: the provider keys the answer depends on (None: all of them).
    """
    cache = app_cache(request)
    if cache.ttl <= 0:
        return Served(compute(), "off", utcnow())
    current = generations(session)
    wanted = sorted(current) if providers is None else sorted(providers)
    generation = tuple((key, current.get(key, 0)) for key in wanted)
    key = cache_key(request, params)
    entry = None if refresh else cache.get(key, generation)
    if entry is not None:
        return Served(entry.value, "hit", entry.stored_at, int(cache.clock() - entry.stored))
    entry = cache.put(key, generation, compute())
    return Served(entry.value, "refresh" if refresh else "miss", entry.stored_at)


def cached(
    request: Request,
    response: Response,
    session: Session,
    *,
    params: Mapping[str, Any],
    providers: list[str] | None,
    refresh: bool,
    compute: Callable[[], T],
) -> T:
    """:func:`lookup`'s value, saying in ``X-Cache`` (and ``Age`` for a hit) how it was obtained."""
    served = lookup(request, session, params=params, providers=providers, refresh=refresh, compute=compute)
    response.headers.update(served.headers())
    value: T = served.value
    return value
