"""Writing one credential's collection: all of it in one transaction, or nothing.

Re-collecting replaces the period's lines of the accounts this credential sees (delete, then
insert), so running a collection ten times gives the same rows, and a process killed half-way
leaves the previous data as it was (the transaction is never committed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from costtracker.clock import utcnow
from costtracker.collect.fx import RateBook
from costtracker.sources.base import Collection, CostRecord, Credential, Discovery, Period, Source
from costtracker.store.generations import bump_generation
from costtracker.store.ledger import (
    delete_cost_lines,
    ensure_account,
    ensure_project,
    ensure_provider,
    upsert_cost_lines,
)
from costtracker.store.models import Account, Coverage, Outcome, Project, Provider

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "requests",
    "characters",
    "audio_seconds",
)


@dataclass
class Written:
    lines: int = 0
    amount: Decimal = Decimal(0)  # in the reporting currency, lines that count in totals
    warnings: list[str] = field(default_factory=list)


def register_provider(session: Session, source: type[Source]) -> Provider:
    return ensure_provider(
        session,
        key=source.key,
        display_name=source.display_name,
        kind=source.kind,
        console_url=source.console_url,
    )


def register_home_account(session: Session, source: type[Source], credential: Credential) -> None:
    """Make a failed credential's workspace visible (with its failure) before it was ever collected."""
    info = source.home_account(credential)
    if info is None:
        return
    provider = register_provider(session, source)
    existing = session.scalar(
        select(Account).where(Account.provider_id == provider.id, Account.external_id == info.external_id)
    )
    if existing is None:
        ensure_account(
            session,
            provider=provider,
            external_id=info.external_id,
            name=info.name,
            meta={**info.meta, "credential": credential.label},
        )


def write_collection(
    session: Session,
    *,
    source: type[Source],
    credential: str,
    discovery: Discovery,
    collection: Collection,
    period: Period,
    run_id: int | None,
    reporting_currency: str,
) -> Written:
    """Replace this credential's lines for the period with ``collection``. The caller commits."""
    provider = register_provider(session, source)
    accounts = _accounts(session, provider, credential, discovery, collection.records)
    projects = _projects(session, accounts, discovery, collection.records)
    replaced = _replaced_days(collection, period)
    for days in replaced:
        delete_cost_lines(
            session,
            provider_id=provider.id,
            account_ids=[a.id for a in accounts.values()],
            start=days.start,
            end=days.end,
        )
    rates = RateBook(session, reporting_currency)
    records = [r for r in merge(collection.records) if any(d.start <= r.day <= d.end for d in replaced)]
    rows = [_row(record, provider, accounts, projects, rates, run_id) for record in records]
    upsert_cost_lines(session, rows)
    written = Written(
        lines=len(rows),
        amount=sum(
            (row["amount_usd"] for row in rows if row["in_total"] and row["amount_usd"] is not None),
            Decimal(0),
        ),
    )
    missing_rate = rates.explain_missing()
    if missing_rate:
        written.warnings.append(missing_rate)
    reason = "; ".join(collection.notes + written.warnings) or None
    # which days are incomplete: those the source names, else all of them when it is incomplete
    everything_partial = bool(missing_rate) or (not collection.complete and collection.incomplete is None)
    status = Outcome.PARTIAL if everything_partial else Outcome.SUCCESS
    for days in replaced:
        record_coverage(
            session,
            provider=source.key,
            credential=credential,
            period=days,
            status=status,
            reason=reason if everything_partial else None,
            run_id=run_id,
        )
    for days in _clipped(collection.incomplete or [], period) if not everything_partial else []:
        record_coverage(
            session,
            provider=source.key,
            credential=credential,
            period=days,
            status=Outcome.PARTIAL,
            reason=reason,
            run_id=run_id,
        )
    record_failure_coverage(
        session,
        provider=source.key,
        credential=credential,
        period=period,
        reason=reason or "not covered by this collection",
        run_id=run_id,
        status=Outcome.PARTIAL,
    )
    return written


def _replaced_days(collection: Collection, period: Period) -> list[Period]:
    """The days to rewrite: what the source says it covered (default: all), clipped to the period."""
    return _clipped([period] if collection.replaces is None else collection.replaces, period)


def _clipped(ranges: list[Period], period: Period) -> list[Period]:
    bounds = [(max(days.start, period.start), min(days.end, period.end)) for days in ranges]
    return [Period(start, end) for start, end in bounds if start <= end]


def record_coverage(
    session: Session,
    *,
    provider: str,
    credential: str,
    period: Period,
    status: str,
    reason: str | None,
    run_id: int | None,
) -> None:
    """Remember, day by day, that this credential was collected (or failed) for the period."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = _coverage_rows(provider, credential, period, str(status), reason, run_id)
    statement = insert(Coverage)
    statement = statement.on_conflict_do_update(
        index_elements=["provider_key", "credential", "day"],
        set_={name: statement.excluded[name] for name in ("status", "reason", "run_id", "collected_at")},
    )
    session.execute(statement, values)
    bump_generation(session, provider)  # caches of this provider are stale from this commit on


def record_failure_coverage(
    session: Session,
    *,
    provider: str,
    credential: str,
    period: Period,
    reason: str,
    run_id: int | None,
    status: Outcome = Outcome.FAILED,
) -> None:
    """Mark days failed (or partial) where nothing was known; never hide data collected before."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = _coverage_rows(provider, credential, period, str(status), reason, run_id)
    statement = insert(Coverage).on_conflict_do_nothing(index_elements=["provider_key", "credential", "day"])
    session.execute(statement, values)
    bump_generation(session, provider)


def _coverage_rows(
    provider: str, credential: str, period: Period, status: str, reason: str | None, run_id: int | None
) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "provider_key": provider,
            "credential": credential,
            "day": day,
            "status": status,
            "reason": reason,
            "run_id": run_id,
            "collected_at": now,
        }
        for day in period.days()
    ]


def merge(records: list[CostRecord]) -> list[CostRecord]:
    """Add up records that share a ledger key (a source may return one per page or per bucket)."""
    merged: dict[tuple[Any, ...], CostRecord] = {}
    for record in records:
        key = (record.account, record.project, record.day, record.model, record.line_item, record.provenance)
        if key not in merged:
            merged[key] = CostRecord(**{f.name: getattr(record, f.name) for f in fields(CostRecord)})
            continue
        into = merged[key]
        if record.currency != into.currency:
            raise ValueError(f"two currencies for one line: {key}")
        into.amount = _add(into.amount, record.amount)
        for name in USAGE_FIELDS:
            setattr(into, name, _add(getattr(into, name), getattr(record, name)))
        into.raw = {"merged": [*into.raw.get("merged", [into.raw]), record.raw]}
    return list(merged.values())


def _add(left: Any, right: Any) -> Any:
    if left is None:
        return right
    if right is None:
        return left
    return left + right


def _accounts(
    session: Session, provider: Provider, credential: str, discovery: Discovery, records: list[CostRecord]
) -> dict[str, Account]:
    accounts = {}
    for info in discovery.accounts:
        meta = {**info.meta, "credential": credential}
        accounts[info.external_id] = ensure_account(
            session, provider=provider, external_id=info.external_id, name=info.name, meta=meta
        )
    for record in records:
        if record.account not in accounts:
            accounts[record.account] = ensure_account(
                session,
                provider=provider,
                external_id=record.account,
                name=record.account,
                meta={"credential": credential},
            )
    return accounts


def _projects(
    session: Session, accounts: dict[str, Account], discovery: Discovery, records: list[CostRecord]
) -> dict[tuple[str, str], Project]:
    projects = {}
    for info in discovery.projects:
        account = accounts.get(info.account)
        if account is None:
            continue
        projects[(info.account, info.external_id)] = ensure_project(
            session,
            account=account,
            external_id=info.external_id,
            name=info.name,
            kind=info.kind,
            status=info.status,
            meta=info.meta,
        )
    for record in records:
        key = (record.account, record.project)
        if record.project and key not in projects:
            projects[key] = ensure_project(
                session, account=accounts[record.account], external_id=record.project, name=record.project
            )
    return projects


def _row(
    record: CostRecord,
    provider: Provider,
    accounts: dict[str, Account],
    projects: dict[tuple[str, str], Project],
    rates: RateBook,
    run_id: int | None,
) -> dict[str, Any]:
    project = projects.get((record.account, record.project))
    converted = rates.convert(record.amount, record.currency, record.day)
    return {
        "day": record.day,
        "provider_id": provider.id,
        "account_id": accounts[record.account].id,
        "project_id": project.id if project else None,
        "project_key": record.project,
        "model": record.model,
        "line_item": record.line_item,
        "provenance": str(record.provenance),
        "in_total": record.in_total,
        **{name: getattr(record, name) for name in USAGE_FIELDS},
        "usage_extra": record.usage_extra,
        "amount": record.amount,
        "currency": record.currency.upper(),
        "amount_usd": converted.amount,
        "fx_rate": converted.rate,
        "fx_source": converted.source,
        "price_table": record.price_table,
        "price_table_version": record.price_table_version,
        "raw": record.raw,
        "run_id": run_id,
    }
