from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from costtracker.store.ledger import ensure_account, ensure_provider, upsert_cost_lines
from costtracker.store.models import CostLine, FxRate, Provenance
from tests.conftest import Db

AMOUNTS = [Decimal("0.000001"), Decimal("123456789.123456789"), Decimal("1.2378912"), Decimal("0")]


def _line(provider_id: int, account_id: int, amount: Decimal, model: str) -> dict[str, object]:
    return {
        "day": date(2026, 1, 15),
        "provider_id": provider_id,
        "account_id": account_id,
        "model": model,
        "provenance": Provenance.BILLED.value,
        "amount": amount,
        "amount_usd": amount,
    }


def test_it_stores_and_reads_back_amounts_exactly(db: Db) -> None:
    with db.sessions.begin() as session:
        provider = ensure_provider(session, key="openai", display_name="OpenAI")
        account = ensure_account(session, provider=provider, external_id="default", name="Default")
        upsert_cost_lines(
            session, [_line(provider.id, account.id, a, f"m{i}") for i, a in enumerate(AMOUNTS)]
        )
    with db.sessions() as session:
        stored = session.scalars(select(CostLine.amount).order_by(CostLine.model)).all()
        total = session.scalar(select(func.sum(CostLine.amount)))
    assert stored == AMOUNTS
    assert all(isinstance(value, Decimal) for value in stored)
    assert total == sum(AMOUNTS)
    assert str(total) == "123456790.361348989"


def test_it_refuses_floats_for_money(db: Db) -> None:
    with db.sessions() as session, pytest.raises(Exception, match="never float"):
        provider = ensure_provider(session, key="openai", display_name="OpenAI")
        account = ensure_account(session, provider=provider, external_id="default", name="Default")
        upsert_cost_lines(session, [_line(provider.id, account.id, 0.1, "m")])  # type: ignore[arg-type]


def test_it_keeps_fx_rates_exact(db: Db) -> None:
    rate = Decimal("1.0834567891234")
    with db.sessions.begin() as session:
        session.add(FxRate(day=date(2026, 1, 1), currency="EUR", quote="USD", rate=rate, source="ECB"))
    with db.sessions() as session:
        assert session.scalar(select(FxRate.rate)) == rate
