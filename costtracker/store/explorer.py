"""What the explorer lists: providers (with their last collection), workspaces and projects.

Providers come from the registry (every source costtracker knows) and from the ledger (anything
that was ever collected or typed in), so a configured provider that was never collected is
listed as such instead of being left out or shown at zero.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from costtracker.clock import as_utc
from costtracker.collect.runs import overall_status
from costtracker.settings import Settings
from costtracker.sources import available_sources
from costtracker.sources.base import Source
from costtracker.store.models import Account, CollectionRun, Coverage, Project, Provider, RunOutcome
from costtracker.store.queries import find_account, find_provider


def provider_list(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Every provider: registered sources first (in registry order), then others from the ledger."""
    sources = available_sources()
    stored = {p.key: p for p in session.scalars(select(Provider))}
    counts = select(Account.provider_id, func.count()).group_by(Account.provider_id)
    accounts: dict[int, int] = {provider_id: count for provider_id, count in session.execute(counts)}
    collected = set(session.scalars(select(Coverage.provider_key).group_by(Coverage.provider_key)))
    last = last_collections(session)
    keys = [*sources, *sorted(k for k in stored if k not in sources)]
    return [
        _provider(key, sources.get(key), stored.get(key), accounts, key in collected, last.get(key), settings)
        for key in keys
    ]


def _provider(
    key: str,
    source: type[Source] | None,
    row: Provider | None,
    accounts: dict[int, int],
    collected: bool,
    last: dict[str, Any] | None,
    settings: Settings,
) -> dict[str, Any]:
    count = accounts.get(row.id, 0) if row is not None else 0
    return {
        "key": key,
        "display_name": source.display_name if source else row.display_name if row else key,
        "kind": source.kind if source else row.kind if row else "llm",
        "has_workspaces": source.has_workspaces if source else count > 1,
        "console_url": source.console_url if source else row.console_url if row else None,
        "configured": bool(source.credentials(settings)) if source else None,
        "status": (row.status if row is not None else "active") if collected else "never_collected",
        "collected": collected,
        "workspaces": count,
        "last_collection": last,
    }


def last_collections(session: Session) -> dict[str, dict[str, Any]]:
    """provider key -> the outcome of the latest run that included it (all its workspaces)."""
    latest = (
        select(RunOutcome.provider_key, func.max(RunOutcome.run_id).label("run_id"))
        .group_by(RunOutcome.provider_key)
        .subquery()
    )
    rows = session.execute(
        select(RunOutcome, CollectionRun.started_at, CollectionRun.finished_at)
        .join(
            latest,
            (RunOutcome.provider_key == latest.c.provider_key) & (RunOutcome.run_id == latest.c.run_id),
        )
        .join(CollectionRun, CollectionRun.id == RunOutcome.run_id)
        .order_by(RunOutcome.id)
    ).all()
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row[0].provider_key, []).append(row)
    return {key: _summarise(found) for key, found in grouped.items()}


def _summarise(rows: list[Any]) -> dict[str, Any]:
    outcomes = [row[0] for row in rows]
    statuses = {o.status for o in outcomes}
    status = statuses.pop() if len(statuses) == 1 else overall_status([o.status for o in outcomes]).value
    reasons = [
        f"{o.account_name or o.account_external_id or o.provider_key}: {o.reason}"
        for o in outcomes
        if o.reason and o.status != "success"
    ]
    _, started, finished = rows[0]
    ends = [o.finished_at for o in outcomes if o.finished_at]
    at = max(ends) if ends else finished or started
    return {"run_id": outcomes[0].run_id, "status": status, "reasons": reasons, "at": as_utc(at).isoformat()}


def workspace_list(session: Session, provider: str) -> list[dict[str, Any]]:
    found = find_provider(session, provider)
    projects = func.count(Project.id)
    rows = session.execute(
        select(Account, projects)
        .outerjoin(Project, Project.account_id == Account.id)
        .where(Account.provider_id == found.id)
        .group_by(Account.id)
        .order_by(func.lower(Account.name))
    ).all()
    return [
        {"id": account.external_id, "name": account.name, "projects": int(count)} for account, count in rows
    ]


def project_list(session: Session, provider: str, workspace: str | None = None) -> list[dict[str, Any]]:
    found = find_provider(session, provider)
    query = select(Project, Account.name).join(Account).where(Account.provider_id == found.id)
    if workspace:
        query = query.where(Project.account_id == find_account(session, found, workspace).id)
    rows = session.execute(query.order_by(func.lower(Project.name), Project.id)).all()
    return [
        {
            "id": project.external_id,
            "name": project.name,
            "kind": project.kind,
            "status": project.status,
            "workspace": account_name,
        }
        for project, account_name in rows
    ]
