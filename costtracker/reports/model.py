"""The monthly report as data: what the page, the e-mail, Notion, the PDF and the CSV all render.

A report is built from the ledger (``reports.monthly.build_report``), frozen as JSON when a month
is closed (``ReportSnapshot.data``), and read back with :meth:`MonthlyReport.from_dict`, so a
closed month's report stays the same unless it is closed again. Amounts are ``Decimal`` and
serialise as decimal strings; ``None`` means unknown (a failed provider), never zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, get_type_hints

T = TypeVar("T")


@dataclass
class ModelLine:
    """One model (or line item) of a provider for the month."""

    model: str
    amount: Decimal | None  # None: unpriced (usage known, price unknown)
    previous: Decimal | None = None
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    provenance: list[str] = field(default_factory=list)


@dataclass
class ProjectReport:
    """One month x provider x project: a Notion "Usages" row."""

    workspace: str | None
    project: str  # display name; "" when the provider has no projects
    project_id: str
    total: Decimal | None
    previous: Decimal | None
    models: list[str]
    input_tokens: int
    output_tokens: int
    requests: int
    breakdown: list[ModelLine]
    status: str  # success | failed | partial | unavailable | skipped (the collection's outcome)
    log: str  # what the collection said (the seed's "Log Status")
    collected_at: datetime | None


@dataclass
class ProviderReport:
    key: str
    name: str
    console_url: str | None
    status: str  # success | failed | partial | unavailable | skipped
    reason: str | None
    total: Decimal | None  # None when the month is unknown (failed, never collected)
    previous: Decimal | None
    change: Decimal | None
    change_pct: Decimal | None  # None when there is no previous amount to compare with
    top_models: list[ModelLine]
    provenance: dict[str, Decimal]  # billed / estimated / manual
    unpriced_lines: int
    projects: list[ProjectReport]
    # optional additions (part A): the provider's own drivers when it is compared, last month's
    # status, and what its collections said (the seed's "Log Status")
    drivers: Drivers | None = None
    previous_status: str | None = None
    log: str = ""


@dataclass
class Drivers:
    """Why the total moved. volume + price + mix + new + gone == the compared change, exactly."""

    volume: Decimal
    price: Decimal
    mix: Decimal
    new: Decimal
    gone: Decimal
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.volume + self.price + self.mix + self.new + self.gone


@dataclass
class TrendPoint:
    month: str
    total: Decimal | None
    status: str  # complete | partial | unknown


@dataclass
class MonthlyReport:
    month: str  # YYYY-MM
    previous_month: str
    currency: str
    total: Decimal | None
    previous_total: Decimal | None
    change: Decimal | None  # over the providers known in both months (see ``excluded``)
    change_pct: Decimal | None
    active_providers: int
    providers: list[ProviderReport]
    drivers: Drivers | None
    trend: list[TrendPoint]  # the last 6 months, oldest first
    excluded: list[str]  # providers left out of the change, with the reason, in plain words
    generated_at: datetime
    closed: bool = False
    # optional additions (part A): whether ``total`` adds up every provider (complete) or only the
    # known ones (partial: some failed or were not collected) or nothing is known (unknown), and
    # the two totals the change compares (providers collected successfully in both months)
    total_status: str = "complete"
    compared_total: Decimal | None = None
    compared_previous: Decimal | None = None
    closed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings, datetimes ISO 8601."""
        data: dict[str, Any] = _jsonable(asdict(self))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonthlyReport:
        report: MonthlyReport = _load(cls, data)
        return report


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def _load(kind: Any, value: Any) -> Any:
    """Rebuild dataclasses from their JSON form, guided by the type hints."""
    if value is None:
        return None
    if is_dataclass(kind) and isinstance(kind, type):
        hints = get_type_hints(kind)
        given = [f.name for f in fields(kind) if f.name in value]
        return kind(**{name: _load(hints[name], value.get(name)) for name in given})
    origin = getattr(kind, "__origin__", None)
    args: tuple[Any, ...] = getattr(kind, "__args__", ())
    if origin is list:
        return [_load(args[0], item) for item in value]
    if origin is dict:
        return {key: _load(args[1], item) for key, item in value.items()}
    if args and type(None) in args:  # Optional[X]
        return _load(next(a for a in args if a is not type(None)), value)
    if kind is Decimal:
        return Decimal(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    return value
