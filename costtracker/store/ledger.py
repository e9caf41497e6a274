"""Writing to the ledger: providers, accounts, projects and cost lines, all idempotent.

Every function takes a session and keyword arguments and never commits: the caller owns the
transaction, which is what makes "replace this provider-account-period" atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from costtracker.store.models import Account, CostLine, Project, Provider

NATURAL_KEY = ("provider_id", "account_id", "project_key", "day", "model", "line_item", "provenance")
_NOT_UPDATED = {"id", *NATURAL_KEY}


def ensure_provider(
    session: Session, *, key: str, display_name: str, kind: str = "llm", console_url: str | None = None
) -> Provider:
    """The provider row for ``key``, created on first use; display data is refreshed."""
    provider = session.scalar(select(Provider).where(Provider.key == key))
    if provider is None:
        provider = Provider(key=key, display_name=display_name, kind=kind, console_url=console_url)
        session.add(provider)
        session.flush()
    else:
        provider.display_name, provider.kind = display_name, kind
        provider.console_url = console_url or provider.console_url
    return provider


def ensure_account(
    session: Session, *, provider: Provider, external_id: str, name: str, meta: dict[str, Any] | None = None
) -> Account:
    account = session.scalar(
        select(Account).where(Account.provider_id == provider.id, Account.external_id == external_id)
    )
    if account is None:
        account = Account(provider_id=provider.id, external_id=external_id, name=name, meta=meta or {})
        session.add(account)
        session.flush()
    else:
        account.name = name
        if meta is not None:
            account.meta = meta
    return account


def ensure_project(
    session: Session,
    *,
    account: Account,
    external_id: str,
    name: str,
    kind: str = "project",
    status: str = "active",
    meta: dict[str, Any] | None = None,
) -> Project:
    project = session.scalar(
        select(Project).where(Project.account_id == account.id, Project.external_id == external_id)
    )
    if project is None:
        project = Project(
            account_id=account.id,
            external_id=external_id,
            name=name,
            kind=kind,
            status=status,
            meta=meta or {},
        )
        session.add(project)
        session.flush()
    else:
        project.name, project.kind, project.status = name, kind, status
        if meta is not None:
            project.meta = meta
    return project


def upsert_cost_lines(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert cost lines, or update the existing line with the same natural key.

    ``rows`` are dictionaries of CostLine columns. Works on SQLite and PostgreSQL through
    their ``ON CONFLICT`` clauses, so writing the same line twice leaves one row.
    """
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, CostLine.__table__)
    columns = {column.name for column in table.columns} - {"id"}
    statement = insert(table)
    updated = {name: statement.excluded[name] for name in columns - _NOT_UPDATED}
    statement = statement.on_conflict_do_update(index_elements=list(NATURAL_KEY), set_=updated)
    values = [_with_defaults(row, columns) for row in rows]
    # executemany: compiled once, sent in batches by the driver (a VALUES list of 500 rows
    # would be compiled anew every time, which costs seconds)
    session.execute(statement, values)
    return len(values)


def delete_cost_lines(
    session: Session, *, provider_id: int, account_ids: Iterable[int], start: date, end: date
) -> int:
    """Remove the lines of some accounts over ``start``..``end`` (inclusive) before they are rewritten."""
    ids = list(account_ids)
    if not ids:
        return 0
    result = session.execute(
        delete(CostLine).where(
            CostLine.provider_id == provider_id,
            CostLine.account_id.in_(ids),
            CostLine.day >= start,
            CostLine.day <= end,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


_DEFAULTS: dict[str, Any] = {
    "project_id": None,
    "project_key": "",
    "in_total": True,
    "model": "",
    "line_item": "",
    "input_tokens": None,
    "output_tokens": None,
    "cached_input_tokens": None,
    "cache_write_tokens": None,
    "requests": None,
    "characters": None,
    "audio_seconds": None,
    "usage_extra": {},
    "amount": None,
    "currency": "USD",
    "amount_usd": None,
    "fx_rate": None,
    "fx_source": None,
    "price_table": None,
    "price_table_version": None,
    "raw": {},
    "run_id": None,
}


def _with_defaults(row: dict[str, Any], columns: set[str]) -> dict[str, Any]:
    """Fill every column so a multi-row INSERT has one shape."""
    from costtracker.clock import utcnow

    unknown = set(row) - columns
    if unknown:
        raise ValueError(f"not cost line columns: {sorted(unknown)}")
    filled = {**_DEFAULTS, "collected_at": utcnow(), **row}
    return filled
