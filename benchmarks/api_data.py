"""A large, deterministic ledger for the API benchmark: years of lines, loaded in bulk.

The shape follows real collections: every provider has one to three workspaces (accounts) that
share its projects, every project uses every model every day, and half the providers also
store usage estimates that shadow their billed lines (``in_total`` false), as OpenAI does.
Coverage says every day was collected, except one provider whose last month failed, so the
status logic has work to do. Amounts are exact decimals; nothing here is random at run time.

The bulk load bypasses the ORM (SQLite: ``executemany`` on the driver; PostgreSQL: ``COPY``)
but not the database: the triggers of migration 0002 keep the rollups as every line goes in,
as they do for a collection, and the rollups are then checked against the lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from costtracker.store.models import Account, Coverage, Project, Provider
from costtracker.store.types import NANOS_PER_UNIT

COLUMNS = (
    "day",
    "provider_id",
    "account_id",
    "project_id",
    "project_key",
    "model",
    "line_item",
    "provenance",
    "in_total",
    "input_tokens",
    "output_tokens",
    "requests",
    "amount",
    "currency",
    "amount_usd",
    "usage_extra",
    "raw",
    "collected_at",
)
COLLECTED_AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    """How big the ledger is: the issue asks for 2 million lines over 3 years."""

    providers: int = 10
    projects: int = 50  # shared out among the providers
    models: int = 30
    days: int = 1096
    last_day: date = date(2025, 12, 31)
    shadowed_models: int = 13  # estimates next to billed lines, for every other provider

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=self.days - 1)

    def expected_lines(self) -> int:
        per_project_day = self.models + self.shadowed_models / 2
        return round(self.projects * self.days * per_project_day)


@dataclass(frozen=True)
class Layout:
    """The ids of what was created: provider id -> (account ids, [(project id, key, account id)])."""

    providers: dict[int, tuple[str, list[int], list[tuple[int, str, int]]]]
    models: list[str]


def create_layout(session: Session, shape: Shape) -> Layout:
    models = [f"model-{m:02d}" for m in range(shape.models)]
    layout: dict[int, tuple[str, list[int], list[tuple[int, str, int]]]] = {}
    per_provider = shape.projects // shape.providers
    for p in range(shape.providers):
        key = f"bench-{p:02d}"
        provider = Provider(key=key, display_name=f"Bench provider {p:02d}", kind="llm")
        session.add(provider)
        session.flush()
        accounts = []
        for a in range(1 + p % 3):
            name = f"workspace-{p:02d}-{a}"
            account = Account(provider_id=provider.id, external_id=name, name=name, meta={"credential": name})
            session.add(account)
            session.flush()
            accounts.append(account.id)
        projects = []
        for j in range(per_provider):
            account_id = accounts[j % len(accounts)]
            project = Project(account_id=account_id, external_id=f"proj-{p:02d}-{j}", name=f"Project {p}.{j}")
            session.add(project)
            session.flush()
            projects.append((project.id, project.external_id, account_id))
        layout[provider.id] = (key, accounts, projects)
    return Layout(layout, models)


def amount_for(day_index: int, project: int, model: int) -> Decimal:
    """A deterministic amount with nine decimals (sums must stay exact, not just close)."""
    cents = (day_index * 7 + project * 13 + model * 31) % 997 + 1
    return Decimal(cents).scaleb(-2) + Decimal((day_index + model) % 1000).scaleb(-9)


def cost_rows(layout: Layout, shape: Shape) -> Iterator[tuple[Any, ...]]:
    for day_index in range(shape.days):
        day = shape.first_day + timedelta(days=day_index)
        for provider_id, (_key, _accounts, projects) in layout.providers.items():
            shadows = provider_id % 2 == 0
            for project_id, project_key, account_id in projects:
                for m, model in enumerate(layout.models):
                    amount = amount_for(day_index, project_id, m)
                    yield _row(day, provider_id, account_id, project_id, project_key, model, "billed", amount)
                    if shadows and m < shape.shadowed_models:
                        estimate = amount + Decimal("0.01")
                        yield _row(
                            day,
                            provider_id,
                            account_id,
                            project_id,
                            project_key,
                            model,
                            "estimated",
                            estimate,
                        )


def _row(
    day: date,
    provider_id: int,
    account_id: int,
    project_id: int,
    project_key: str,
    model: str,
    provenance: str,
    amount: Decimal,
) -> tuple[Any, ...]:
    tokens = int(amount * 1000)
    return (
        day,
        provider_id,
        account_id,
        project_id,
        project_key,
        model,
        "",
        provenance,
        provenance == "billed",
        tokens,
        tokens // 3,
        tokens // 100 + 1,
        amount,
        "USD",
        amount,
        "{}",
        json.dumps({"model": model, "cost": str(amount)}),
        COLLECTED_AT,
    )


def coverage_rows(layout: Layout, shape: Shape) -> Iterator[dict[str, Any]]:
    """Every day collected; the first provider's last month failed on one workspace."""
    failed_from = shape.last_day.replace(day=1)
    first_provider = min(layout.providers)
    for provider_id, (key, accounts, _projects) in layout.providers.items():
        for index, _account in enumerate(accounts):
            credential = f"workspace-{key.removeprefix('bench-')}-{index}"
            for day_index in range(shape.days):
                day = shape.first_day + timedelta(days=day_index)
                failed = provider_id == first_provider and index == 0 and day >= failed_from
                yield {
                    "provider_key": key,
                    "credential": credential,
                    "day": day,
                    "status": "failed" if failed else "success",
                    "reason": "the API refused the key (401)" if failed else None,
                    "collected_at": COLLECTED_AT,
                }


def load(engine: Engine, shape: Shape, *, batch: int = 50_000) -> int:
    """Fill an empty, migrated database; returns the number of cost lines written."""
    from costtracker.store.rollups import check_rollups

    with Session(engine) as session, session.begin():
        layout = create_layout(session, shape)
        session.execute(insert(Coverage), list(coverage_rows(layout, shape)))
    if engine.dialect.name == "postgresql":
        count = _copy_postgres(engine, cost_rows(layout, shape))
    else:
        count = _insert_sqlite(engine, cost_rows(layout, shape), batch)
    with Session(engine) as session:
        problems = check_rollups(session)
    if problems:
        raise RuntimeError("; ".join(problems))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum would, soon after
    return count


def _insert_sqlite(engine: Engine, rows: Iterator[tuple[Any, ...]], batch: int) -> int:
    money = (COLUMNS.index("amount"), COLUMNS.index("amount_usd"))
    placeholders = ", ".join("?" for _ in COLUMNS)
    statement = f"INSERT INTO cost_lines ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    count = 0
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            values = list(row)
            for index in money:  # the ledger's SQLite form: integer nano-units
                values[index] = int(values[index] * NANOS_PER_UNIT)
            values[0] = values[0].isoformat()
            values[-1] = values[-1].strftime("%Y-%m-%d %H:%M:%S.%f")
            chunk.append(tuple(values))
            if len(chunk) >= batch:
                cursor.executemany(statement, chunk)
                count += len(chunk)
                chunk = []
        cursor.executemany(statement, chunk)
        count += len(chunk)
        connection.commit()
    finally:
        connection.close()
    return count


def _copy_postgres(engine: Engine, rows: Iterator[tuple[Any, ...]]) -> int:
    count = 0
    connection = engine.raw_connection()
    try:
        cursor: Any = connection.cursor()
        with cursor.copy(f"COPY cost_lines ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        connection.commit()
    finally:
        connection.close()
    return count
