from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from costtracker.store.ledger import (
    delete_cost_lines,
    ensure_account,
    ensure_project,
    ensure_provider,
    upsert_cost_lines,
)
from costtracker.store.models import CostLine, Project, Provenance
from tests.conftest import Db


def _seed(db: Db) -> tuple[int, int]:
    with db.sessions.begin() as session:
        provider = ensure_provider(session, key="anthropic", display_name="Anthropic")
        account = ensure_account(session, provider=provider, external_id="wrkspc_1", name="Prod")
        return provider.id, account.id


def _line(provider_id: int, account_id: int, amount: str, day: int = 3) -> dict[str, object]:
    return {
        "day": date(2026, 2, day),
        "provider_id": provider_id,
        "account_id": account_id,
        "project_key": "key_1",
        "model": "claude-sonnet-4",
        "line_item": "input tokens",
        "provenance": Provenance.BILLED.value,
        "amount": Decimal(amount),
        "amount_usd": Decimal(amount),
        "input_tokens": 1000,
        "raw": {"amount": amount},
    }


def test_it_upserts_the_same_cost_line_to_one_row(db: Db) -> None:
    provider_id, account_id = _seed(db)
    for amount in ("1.50", "1.75"):
        with db.sessions.begin() as session:
            upsert_cost_lines(session, [_line(provider_id, account_id, amount)])
    with db.sessions() as session:
        rows = session.scalars(select(CostLine)).all()
    assert len(rows) == 1
    assert rows[0].amount == Decimal("1.75")
    assert rows[0].raw == {"amount": "1.75"}


def test_it_keeps_lines_that_differ_by_provenance(db: Db) -> None:
    provider_id, account_id = _seed(db)
    billed = _line(provider_id, account_id, "2")
    estimate = {
        **billed,
        "provenance": Provenance.ESTIMATED.value,
        "price_table": "genai-prices",
        "price_table_version": "0.2.3",
    }
    with db.sessions.begin() as session:
        upsert_cost_lines(session, [billed, estimate])
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CostLine)) == 2


def test_it_keeps_an_unpriced_line_without_an_amount(db: Db) -> None:
    provider_id, account_id = _seed(db)
    unpriced = {
        **_line(provider_id, account_id, "0"),
        "provenance": Provenance.UNPRICED.value,
        "amount": None,
        "amount_usd": None,
    }
    with db.sessions.begin() as session:
        upsert_cost_lines(session, [unpriced])
    with db.sessions() as session:
        line = session.scalars(select(CostLine)).one()
    assert line.amount is None and line.input_tokens == 1000


def test_it_deletes_only_the_period_it_is_given(db: Db) -> None:
    provider_id, account_id = _seed(db)
    with db.sessions.begin() as session:
        upsert_cost_lines(session, [_line(provider_id, account_id, "1", day) for day in (1, 2, 3, 4)])
    with db.sessions.begin() as session:
        removed = delete_cost_lines(
            session,
            provider_id=provider_id,
            account_ids=[account_id],
            start=date(2026, 2, 2),
            end=date(2026, 2, 3),
        )
    with db.sessions() as session:
        days = session.scalars(select(CostLine.day).order_by(CostLine.day)).all()
    assert removed == 2
    assert days == [date(2026, 2, 1), date(2026, 2, 4)]


def test_it_creates_projects_once_and_renames_them(db: Db) -> None:
    _seed(db)
    for name in ("Old name", "New name"):
        with db.sessions.begin() as session:
            provider = ensure_provider(session, key="anthropic", display_name="Anthropic")
            account = ensure_account(session, provider=provider, external_id="wrkspc_1", name="Prod")
            ensure_project(session, account=account, external_id="key_1", name=name, kind="api_key")
    with db.sessions() as session:
        projects = session.scalars(select(Project)).all()
    assert [(p.name, p.kind) for p in projects] == [("New name", "api_key")]
