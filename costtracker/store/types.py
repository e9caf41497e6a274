"""Column types that keep money exact on both databases.

PostgreSQL has an exact ``NUMERIC``. SQLite does not: its NUMERIC affinity stores floats, so
``123456789.123456789`` would come back wrong. We therefore store money on SQLite as an integer
count of nano-units (10⁻⁹), which SQLite sums exactly, and as ``NUMERIC(38, 9)`` on PostgreSQL.
Python only ever sees ``Decimal``. Nine decimals hold sub-cent unit amounts (Anthropic's
``"123.78912"`` cents is USD 1.2378912) with room to spare; anything finer is rounded half-even
and that rounding is the only one in the ledger.

Non-summed exact numbers (FX rates, audio seconds) use :class:`ExactDecimal`, stored as text on
SQLite.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_SCALE = 9
NANO = Decimal(1).scaleb(-MONEY_SCALE)
NANOS_PER_UNIT = 10**MONEY_SCALE


def quantize_money(value: Decimal) -> Decimal:
    """Round to the ledger's precision (10⁻⁹), half-even."""
    return value.quantize(NANO, rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> Decimal:
    """Drop trailing zeros, never in exponent form (``14.820000000`` -> ``14.82``; 100 stays 100)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, never float")
    return value if isinstance(value, Decimal) else Decimal(str(value))


class Money(TypeDecorator[Decimal]):
    """An exact amount: NUMERIC(38, 9) on PostgreSQL, integer nano-units on SQLite."""

    impl = Numeric(38, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(38, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = quantize_money(_as_decimal(value))
        if dialect.name == "sqlite":
            return int(amount.scaleb(MONEY_SCALE))
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return plain(Decimal(int(value)).scaleb(-MONEY_SCALE))
        return plain(Decimal(value))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal that is not summed in SQL: NUMERIC(38, 18) on PostgreSQL, text on SQLite."""

    impl = Numeric(38, 18)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = _as_decimal(value)
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain(Decimal(str(value)))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal
