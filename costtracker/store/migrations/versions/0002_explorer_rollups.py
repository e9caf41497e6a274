"""explorer rollups: cost lines added up per day, per month and per provider-month, kept by triggers; cache generations

Why triggers rather than code in the collection writer: every writer of ``cost_lines`` (the
collection, manual entries, a repair in SQL, a test) keeps the rollups exact in the same
transaction, so a total read from them can never drift from the lines it adds up. The SQL is
written here in full (not imported from the package) so this revision stays what it was.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import costtracker.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_KEY = ("provider_id", "day", "account_id", "project_id", "provenance", "in_total")
MONTH_KEY = ("provider_id", "month", "account_id", "project_id", "model", "provenance", "in_total")
TOTAL_KEY = ("provider_id", "month", "provenance", "in_total")
TRIGGERS = ("cost_lines_rollup_insert", "cost_lines_rollup_update", "cost_lines_rollup_delete")
WATCHED = (
    "day, provider_id, account_id, project_id, model, line_item, provenance, in_total, "
    "amount, amount_usd, requests, input_tokens, output_tokens"
)


def upgrade() -> None:
    op.create_table(
        "cost_rollup_days",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("in_total", sa.Boolean(), nullable=False),
        sa.Column("amount_usd", costtracker.store.types.Money(precision=38, scale=9), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("converted", sa.Integer(), nullable=False),
        sa.Column("priced", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_cost_rollup_days_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_cost_rollup_days_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*DAY_KEY, name=op.f("pk_cost_rollup_days")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "cost_rollup_months",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("in_total", sa.Boolean(), nullable=False),
        sa.Column("amount_usd", costtracker.store.types.Money(precision=38, scale=9), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("converted", sa.Integer(), nullable=False),
        sa.Column("priced", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_cost_rollup_months_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_cost_rollup_months_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*MONTH_KEY, name=op.f("pk_cost_rollup_months")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "cost_rollup_totals",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("in_total", sa.Boolean(), nullable=False),
        sa.Column("amount_usd", costtracker.store.types.Money(precision=38, scale=9), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("converted", sa.Integer(), nullable=False),
        sa.Column("priced", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_cost_rollup_totals_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*TOTAL_KEY, name=op.f("pk_cost_rollup_totals")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "ledger_generations",
        sa.Column("provider_key", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_key", name=op.f("pk_ledger_generations")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in postgres_triggers() if postgres else sqlite_triggers():
        op.execute(statement)
    for statement in backfill(postgres):
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON cost_lines" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS cost_lines_rollup()")
        op.execute("DROP FUNCTION IF EXISTS cost_rollup_apply(cost_lines, integer)")
    op.drop_table("ledger_generations")
    op.drop_table("cost_rollup_totals")
    op.drop_table("cost_rollup_months")
    op.drop_table("cost_rollup_days")


# --- what one line adds to (sign 1) or takes from (sign -1) each rollup ------------------------


def _values(row: str, month: str, flag: str) -> dict[str, str]:
    """Column -> SQL expression for the line ``row`` (NEW, OLD or a plpgsql variable)."""
    return {
        "provider_id": f"{row}.provider_id",
        "day": f"{row}.day",
        "month": month,
        "account_id": f"{row}.account_id",
        "project_id": f"coalesce({row}.project_id, 0)",
        "model": f"coalesce(nullif({row}.model, ''), nullif({row}.line_item, ''), '(other)')",
        "provenance": f"{row}.provenance",
        "in_total": f"{row}.in_total",
        "amount_usd": f"coalesce({row}.amount_usd, 0)",
        "requests": f"coalesce({row}.requests, 0)",
        "input_tokens": f"coalesce({row}.input_tokens, 0)",
        "output_tokens": f"coalesce({row}.output_tokens, 0)",
        "lines": "1",
        "converted": flag.format(f"{row}.amount_usd"),
        "priced": flag.format(f"{row}.amount"),
    }


SUMS = {
    "cost_rollup_days": ("amount_usd", "lines", "converted", "priced"),
    "cost_rollup_months": (
        "amount_usd",
        "requests",
        "input_tokens",
        "output_tokens",
        "lines",
        "converted",
        "priced",
    ),
}
SUMS["cost_rollup_totals"] = SUMS["cost_rollup_days"]
KEYS = {"cost_rollup_days": DAY_KEY, "cost_rollup_months": MONTH_KEY, "cost_rollup_totals": TOTAL_KEY}


def _add(table: str, values: dict[str, str]) -> str:
    keys, sums = KEYS[table], SUMS[table]
    columns = (*keys, *sums)
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in sums)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values[c] for c in columns)}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _remove(table: str, values: dict[str, str]) -> list[str]:
    keys, sums = KEYS[table], SUMS[table]
    where = " AND ".join(f"{name} = {values[name]}" for name in keys)
    updates = ", ".join(f"{name} = {name} - {values[name]}" for name in sums)
    update = f"UPDATE {table} SET {updates} WHERE {where}"  # noqa: S608 - our own column names
    return [update, f"DELETE FROM {table} WHERE {where} AND lines <= 0"]  # noqa: S608


def _changes(row: str, month: str, flag: str, sign: int) -> list[str]:
    values = _values(row, month, flag)
    if sign > 0:
        return [_add(table, values) for table in KEYS]
    return [statement for table in KEYS for statement in _remove(table, values)]


SQLITE_FLAG = "({} IS NOT NULL)"


def sqlite_triggers() -> list[str]:
    def body(*parts: tuple[str, int]) -> str:
        statements = [
            s
            for row, sign in parts
            for s in _changes(row, f"strftime('%Y-%m-01', {row}.day)", SQLITE_FLAG, sign)
        ]
        return " BEGIN " + "; ".join(statements) + "; END"

    return [
        "CREATE TRIGGER cost_lines_rollup_insert AFTER INSERT ON cost_lines" + body(("NEW", 1)),
        f"CREATE TRIGGER cost_lines_rollup_update AFTER UPDATE OF {WATCHED} ON cost_lines"
        + body(("OLD", -1), ("NEW", 1)),
        "CREATE TRIGGER cost_lines_rollup_delete AFTER DELETE ON cost_lines" + body(("OLD", -1)),
    ]


def postgres_triggers() -> list[str]:
    flag = "({} IS NOT NULL)::int"
    month = "date_trunc('month', r.day::timestamp)::date"
    add = "; ".join(_changes("r", month, flag, 1))
    remove = "; ".join(_changes("r", month, flag, -1))
    return [
        "CREATE FUNCTION cost_rollup_apply(r cost_lines, direction integer) RETURNS void LANGUAGE plpgsql "
        f"AS $$ BEGIN IF direction > 0 THEN {add}; ELSE {remove}; END IF; END $$",
        "CREATE FUNCTION cost_lines_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM cost_rollup_apply(OLD, -1); END IF; "
        "IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM cost_rollup_apply(NEW, 1); END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER cost_lines_rollup_insert AFTER INSERT ON cost_lines "
        "FOR EACH ROW EXECUTE FUNCTION cost_lines_rollup()",
        f"CREATE TRIGGER cost_lines_rollup_update AFTER UPDATE OF {WATCHED} ON cost_lines "
        "FOR EACH ROW EXECUTE FUNCTION cost_lines_rollup()",
        "CREATE TRIGGER cost_lines_rollup_delete AFTER DELETE ON cost_lines "
        "FOR EACH ROW EXECUTE FUNCTION cost_lines_rollup()",
    ]


def backfill(postgres: bool) -> list[str]:
    """The rollups of the lines already stored (the triggers only see what comes next)."""
    month = "date_trunc('month', day::timestamp)::date" if postgres else "strftime('%Y-%m-01', day)"
    model = "coalesce(nullif(model, ''), nullif(line_item, ''), '(other)')"
    counts = "coalesce(sum(amount_usd), 0), count(*), count(amount_usd), count(amount)"
    return [
        "INSERT INTO cost_rollup_days (provider_id, day, account_id, project_id, provenance, in_total, "  # noqa: S608
        f"amount_usd, lines, converted, priced) SELECT provider_id, day, account_id, coalesce(project_id, 0), "
        f"provenance, in_total, {counts} FROM cost_lines "
        "GROUP BY provider_id, day, account_id, coalesce(project_id, 0), provenance, in_total",
        "INSERT INTO cost_rollup_months (provider_id, month, account_id, project_id, model, provenance, "  # noqa: S608
        "in_total, amount_usd, lines, converted, priced, requests, input_tokens, output_tokens) "
        f"SELECT provider_id, {month}, account_id, coalesce(project_id, 0), {model}, provenance, in_total, "
        f"{counts}, coalesce(sum(requests), 0), coalesce(sum(input_tokens), 0), "
        "coalesce(sum(output_tokens), 0) FROM cost_lines "
        f"GROUP BY provider_id, {month}, account_id, coalesce(project_id, 0), {model}, provenance, in_total",
        "INSERT INTO cost_rollup_totals (provider_id, month, provenance, in_total, amount_usd, lines, converted, priced) "  # noqa: S608
        f"SELECT provider_id, {month}, provenance, in_total, {counts} FROM cost_lines "
        f"GROUP BY provider_id, {month}, provenance, in_total",
    ]
