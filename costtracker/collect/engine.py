"""The collection engine: every provider, every credential, concurrently, safely, honestly.

* Providers run concurrently; inside one, credentials (workspaces) run concurrently, and each
  source fetches its pages concurrently within the provider's limits (enforced by its ``Http``).
* Each credential's result is written in one transaction (see ``writer``), so a crash leaves the
  previous data intact and a rerun completes it.
* A provider-period already being collected by another process is skipped, not collected twice.
* Every outcome is stored with its reason in plain words: failed, partial, unavailable, skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from costtracker.collect import locks
from costtracker.collect.runs import (
    OutcomeRecord,
    add_log,
    add_outcome,
    create_run,
    finish_run,
    mark_interrupted,
)
from costtracker.collect.writer import (
    record_failure_coverage,
    register_home_account,
    register_provider,
    write_collection,
)
from costtracker.errors import InvalidInput, SourceError
from costtracker.http import Http, RateLimit, RetryPolicy, redact
from costtracker.logs import secret_values
from costtracker.settings import Settings
from costtracker.sources import SOURCES, available_sources, load_source
from costtracker.sources.base import Collection, Credential, Discovery, Period, Source
from costtracker.store.models import Outcome

log = logging.getLogger(__name__)

Listener = Callable[[str, OutcomeRecord | str], None]


@dataclass
class RunResult:
    run_id: int
    status: Outcome
    outcomes: list[OutcomeRecord] = field(default_factory=list)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_retries=settings.http_max_retries,
        backoff_seconds=settings.http_backoff_seconds,
        max_retry_after_seconds=settings.http_max_retry_after_seconds,
        timeout_seconds=settings.http_timeout_seconds,
    )


def resolve_providers(requested: list[str] | None) -> list[str]:
    """The providers to collect: the requested ones (validated) or every available one."""
    if not requested:
        return list(available_sources())
    unknown = [key for key in requested if key not in SOURCES]
    if unknown:
        raise InvalidInput("provider", f"unknown provider {unknown[0]!r}; known: {', '.join(SOURCES)}")
    return list(dict.fromkeys(requested))


class CollectionEngine:
    """Runs a collection; ``transports`` lets tests and the demo plug emulators in-process."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Any] | None = None,
        listener: Listener | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.transports = transports or {}
        self.policy = policy or retry_policy(settings)
        self.sleep = sleep or asyncio.sleep
        self.listener = listener or (lambda _kind, _data: None)
        self.rate_limit = rate_limit  # overrides every source's own limit (tests against fast emulators)
        self.holder = locks.holder_id()
        self._secrets = secret_values(settings)

    async def run(
        self,
        period: Period,
        *,
        providers: list[str] | None = None,
        trigger: str = "cli",
        run_id: int | None = None,
    ) -> RunResult:
        keys = resolve_providers(providers)
        if run_id is None:
            run_id = create_run(self.sessions, trigger=trigger, period=period, providers=keys)
        self._log(run_id, f"collecting {', '.join(keys)} for {period.start} .. {period.end}")
        try:
            groups = await asyncio.gather(*(self._provider(run_id, key, period) for key in keys))
        except Exception as exc:  # the run itself broke: store why, then re-raise
            finish_run(self.sessions, run_id, error=redact(f"{type(exc).__name__}: {exc}", self._secrets))
            raise
        status = finish_run(self.sessions, run_id)
        outcomes = [outcome for group in groups for outcome in group]
        self._log(run_id, f"finished: {status.value}")
        return RunResult(run_id, status, outcomes)

    async def _provider(self, run_id: int, key: str, period: Period) -> list[OutcomeRecord]:
        source_cls = load_source(key)
        credentials = source_cls.credentials(self.settings)
        if not credentials:
            return [self._not_collectable(run_id, source_cls)]
        lock = locks.lock_key(key, period)
        busy = await asyncio.to_thread(locks.acquire, self.sessions, lock, self.holder, run_id)
        if busy is not None:
            reason = "a collection of this provider and period is already under way in another process"
            return [self._finish(run_id, OutcomeRecord(key, None, Outcome.SKIPPED, reason), None)]
        self.listener("provider", key)
        await asyncio.to_thread(self._register, source_cls)
        write_lock = asyncio.Lock()  # one credential's write at a time: they share accounts and projects
        limits = self.rate_limit or source_cls.rate_limit
        http = Http(
            key,
            source_cls.base_url(self.settings),
            limits=limits,
            policy=self.policy,
            transport=self.transports.get(key),
            sleep=self.sleep,
        )
        try:
            source = source_cls(self.settings, http)
            return list(
                await asyncio.gather(
                    *(
                        self._credential(run_id, source, credential, period, write_lock)
                        for credential in credentials
                    )
                )
            )
        finally:
            await http.aclose()
            await asyncio.to_thread(locks.release, self.sessions, lock, self.holder)

    async def _credential(
        self, run_id: int, source: Source, credential: Credential, period: Period, write_lock: asyncio.Lock
    ) -> OutcomeRecord:
        started = time.monotonic()
        outcome = OutcomeRecord(source.key, credential.label, Outcome.SUCCESS)
        try:
            discovery, collection = await asyncio.gather(
                source.discover(credential), source.collect(credential, period)
            )
            async with write_lock:
                outcome = await asyncio.to_thread(
                    self._write, run_id, source, credential, discovery, collection, period
                )
        except SourceError as exc:
            outcome = self._failed(run_id, source, credential, period, redact(exc.message, self._secrets))
        except Exception as exc:
            log.exception("unexpected failure collecting %s (%s)", source.key, credential.label)
            reason = redact(f"unexpected error ({type(exc).__name__}: {exc})", self._secrets)
            outcome = self._failed(run_id, source, credential, period, reason)
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        outcome.requests = source.http.requests_by_account.get(credential.label, 0)
        return self._finish(run_id, outcome, credential.label)

    def _register(self, source_cls: type[Source]) -> None:
        with self.sessions.begin() as session:
            register_provider(session, source_cls)

    def _write(
        self,
        run_id: int,
        source: Source,
        credential: Credential,
        discovery: Discovery,
        collection: Collection,
        period: Period,
    ) -> OutcomeRecord:
        with self.sessions.begin() as session:
            written = write_collection(
                session,
                source=type(source),
                credential=credential.label,
                discovery=discovery,
                collection=collection,
                period=period,
                run_id=run_id,
                reporting_currency=self.settings.reporting_currency,
            )
        notes = collection.notes + written.warnings
        complete = collection.complete and not written.warnings
        status = Outcome.SUCCESS if complete else Outcome.PARTIAL
        return OutcomeRecord(
            source.key,
            credential.label,
            status,
            "; ".join(notes) or None,
            lines=written.lines,
            amount=written.amount,
        )

    def _failed(
        self, run_id: int, source: Source, credential: Credential, period: Period, reason: str
    ) -> OutcomeRecord:
        with self.sessions.begin() as session:
            record_failure_coverage(
                session,
                provider=source.key,
                credential=credential.label,
                period=period,
                reason=reason,
                run_id=run_id,
            )
            register_home_account(session, type(source), credential)
        return OutcomeRecord(source.key, credential.label, Outcome.FAILED, reason)

    def _not_collectable(self, run_id: int, source_cls: type[Source]) -> OutcomeRecord:
        problem = source_cls.configuration_problem(self.settings)
        if problem:
            outcome = OutcomeRecord(source_cls.key, None, Outcome.UNAVAILABLE, problem)
        else:
            keys = " or ".join(source_cls.settings_keys) or "its key"
            outcome = OutcomeRecord(source_cls.key, None, Outcome.SKIPPED, f"not configured (set {keys})")
        return self._finish(run_id, outcome, None)

    def _finish(self, run_id: int, outcome: OutcomeRecord, account_name: str | None) -> OutcomeRecord:
        where = f"{outcome.provider} ({account_name})" if account_name else outcome.provider
        detail = f"{outcome.lines} lines" if outcome.status in (Outcome.SUCCESS, Outcome.PARTIAL) else ""
        message = f"{where}: {outcome.status.value}" + (f", {detail}" if detail else "")
        message += f" — {outcome.reason}" if outcome.reason else ""
        level = "error" if outcome.status == Outcome.FAILED else "info"
        with self.sessions.begin() as session:
            add_outcome(session, run_id, outcome, account_name)
            add_log(session, run_id, message, level=level, provider=outcome.provider)
        self.listener("outcome", outcome)
        return outcome

    def _log(self, run_id: int, message: str) -> None:
        with self.sessions.begin() as session:
            add_log(session, run_id, message)


def interrupted_runs_cleanup(sessions: sessionmaker[Session]) -> None:
    """Mark runs whose lock holder died as interrupted (called before a new collection)."""
    from sqlalchemy import select

    from costtracker.store.models import CollectionLock

    with sessions() as session:
        stale = [(lock.run_id, lock.holder) for lock in session.scalars(select(CollectionLock))]
    for run_id, holder in stale:
        if run_id is not None and locks.holder_is_dead(holder):
            mark_interrupted(sessions, run_id)
