"""The ledger: every amount costtracker knows, where it came from, and how it was obtained.

Design rules that later features rely on:

* Money is :class:`~costtracker.store.types.Money` (exact) and keeps the source's currency;
  ``amount_usd`` is the amount in the reporting currency with the rate and its source beside it.
* ``amount`` is NULL when the amount is unknown (``unpriced`` lines): unknown is never zero.
* Each cost line has a natural key (provider, account, project, day, model, line item,
  provenance) so that collecting the same period again updates rows instead of adding them.
  Key parts that may be absent are stored as ``''`` because SQL treats NULLs as distinct in
  unique constraints.
* The provider's raw record is kept (``raw``) so a parsing fix can re-derive a line.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from costtracker.store.types import ExactDecimal, Money

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, Decimal: Money}


class Provenance(enum.StrEnum):
    """How an amount was obtained."""

    BILLED = "billed"  # from the provider's billing API
    ESTIMATED = "estimated"  # usage x a price table (name and version recorded)
    MANUAL = "manual"  # typed in from an invoice
    UNPRICED = "unpriced"  # usage exists, no price known: amount is NULL, never 0


class ProviderStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    AWAITING_API = "awaiting_api"


class Outcome(enum.StrEnum):
    """The outcome of collecting one provider/account, or of a whole run."""

    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"
    SKIPPED = "skipped"


class Trigger(enum.StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"
    CLI = "cli"


def _now() -> datetime:
    from costtracker.clock import utcnow

    return utcnow()


class Provider(Base):
    """A service the company pays (or is paid by): the seed's "Services"."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="llm")  # llm | infra | revenue | app
    console_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(32), default=ProviderStatus.ACTIVE.value)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    accounts: Mapped[list[Account]] = relationship(back_populates="provider")


class Account(Base):
    """A workspace or organisation at a provider (one per admin key, or 'default')."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("provider_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    provider: Mapped[Provider] = relationship(back_populates="accounts")
    projects: Mapped[list[Project]] = relationship(back_populates="account")


class Project(Base):
    """A project, API key or sub-account inside an account."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), default="project")  # project | api_key | sub_account
    status: Mapped[str] = mapped_column(String(32), default="active")  # active | archived
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    account: Mapped[Account] = relationship(back_populates="projects")


class CollectionRun(Base):
    """One collection: what was asked, by whom, and how it went."""

    __tablename__ = "collection_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=Outcome.RUNNING.value)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    providers: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lines_written: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    outcomes: Mapped[list[RunOutcome]] = relationship(back_populates="run", order_by="RunOutcome.id")
    logs: Mapped[list[RunLog]] = relationship(back_populates="run", order_by="RunLog.id")


class RunOutcome(Base):
    """Per provider and account outcome of a run, with the reason in plain words."""

    __tablename__ = "run_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("collection_runs.id", ondelete="CASCADE"), index=True)
    provider_key: Mapped[str] = mapped_column(String(64))
    account_external_id: Mapped[str | None] = mapped_column(String(200))
    account_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    amount_usd: Mapped[Decimal | None] = mapped_column(Money)
    requests_made: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    run: Mapped[CollectionRun] = relationship(back_populates="outcomes")


class RunLog(Base):
    """A log line of a run (the seed's "Log Status")."""

    __tablename__ = "run_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("collection_runs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    level: Mapped[str] = mapped_column(String(10), default="info")
    provider_key: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)

    run: Mapped[CollectionRun] = relationship(back_populates="logs")


class CostLine(Base):
    """One day of one thing at one provider: the unit everything else adds up."""

    __tablename__ = "cost_lines"
    __table_args__ = (
        UniqueConstraint(
            "provider_id",
            "account_id",
            "project_key",
            "day",
            "model",
            "line_item",
            "provenance",
            name="uq_cost_lines_natural_key",
        ),
        Index("ix_cost_lines_provider_day", "provider_id", "day"),
        Index("ix_cost_lines_account_day", "account_id", "day"),
        Index("ix_cost_lines_project_day", "project_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    project_key: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    line_item: Mapped[str] = mapped_column(String(300), default="")
    provenance: Mapped[str] = mapped_column(String(16))
    # False for an estimate that shadows billed money (kept for the per-model view, never added to it)
    in_total: Mapped[bool] = mapped_column(Boolean, default=True)

    input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    output_tokens: Mapped[int | None] = mapped_column(BigInteger)
    cached_input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int | None] = mapped_column(BigInteger)
    requests: Mapped[int | None] = mapped_column(BigInteger)
    characters: Mapped[int | None] = mapped_column(BigInteger)
    audio_seconds: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    usage_extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    amount: Mapped[Decimal | None] = mapped_column(Money)  # NULL = unknown (unpriced)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    amount_usd: Mapped[Decimal | None] = mapped_column(Money)
    fx_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    fx_source: Mapped[str | None] = mapped_column(String(100))
    price_table: Mapped[str | None] = mapped_column(String(100))
    price_table_version: Mapped[str | None] = mapped_column(String(50))

    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id", ondelete="SET NULL"))
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class FxRate(Base):
    """A conversion rate used for a day: 1 unit of ``currency`` = ``rate`` units of ``quote``."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("day", "currency", "quote"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3), default="USD")
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    source: Mapped[str] = mapped_column(String(100))


class RevenueRecord(Base):
    """Money earned (Stripe charges, refunds, subscriptions; or typed in)."""

    __tablename__ = "revenue_records"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # charge | refund | subscription | invoice | payout
    day: Mapped[date] = mapped_column(Date, index=True)
    customer: Mapped[str | None] = mapped_column(String(200))
    product: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    amount_usd: Mapped[Decimal | None] = mapped_column(Money)
    fx_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    fx_source: Mapped[str | None] = mapped_column(String(100))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id", ondelete="SET NULL"))


class InfraSnapshot(Base):
    """A measured infrastructure quantity (balance, month-to-date usage, storage, objects...)."""

    __tablename__ = "infra_snapshots"
    __table_args__ = (UniqueConstraint("provider_id", "account_id", "metric", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    unit: Mapped[str] = mapped_column(String(32))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id", ondelete="SET NULL"))


class ManualEntry(Base):
    """An invoice typed in by a person, for a source with no billing API."""

    __tablename__ = "manual_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    invoice_ref: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    amount_usd: Mapped[Decimal | None] = mapped_column(Money)
    fx_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    fx_source: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class UsageEvent(Base):
    """One LLM call made by one of the company's own apps for one of its end users."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_app_time", "app", "occurred_at"),
        Index("ix_usage_events_user_time", "end_user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)  # client idempotency key
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    app: Mapped[str] = mapped_column(String(100))
    end_user_id: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(200))
    input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    output_tokens: Mapped[int | None] = mapped_column(BigInteger)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    cost_provenance: Mapped[str | None] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    error_type: Mapped[str | None] = mapped_column(String(100))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default="viewer")  # admin | viewer
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A machine token, stored hashed; only its prefix is kept in clear to recognise it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))  # collect | read
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Coverage(Base):
    """Which days of which credential were collected, and how it went: the difference between
    "we know it cost nothing" and "we do not know" (unknown is never zero)."""

    __tablename__ = "coverage"
    __table_args__ = (UniqueConstraint("provider_key", "credential", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_key: Mapped[str] = mapped_column(String(64))
    credential: Mapped[str] = mapped_column(String(200))  # the credential's label (OpenAI workspace...)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # success | partial | failed
    reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id", ondelete="SET NULL"))
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class CollectionLock(Base):
    """A claim on "collecting this provider for this period": one holder at a time.

    Claimed by inserting the row (the unique key refuses a second holder); a holder that died
    is recognised by ``expires_at`` in the past and replaced with a conditional UPDATE.
    """

    __tablename__ = "collection_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id", ondelete="SET NULL"))
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScheduledJob(Base):
    """A recurring job; each due run is claimed by one process with a conditional UPDATE."""

    __tablename__ = "scheduled_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    cron: Mapped[str] = mapped_column(String(100))
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    runs: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """An admin action: who did what, to what, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # user email, token name, or "system"
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class UserSession(Base):
    """A browser session; the cookie holds a random id whose hash is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """A failed login, kept for the rate limit (shared by every process)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400))  # e.g. "email:x@y" or "ip:1.2.3.4"
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReportSnapshot(Base):
    """The frozen report of a closed month (it stays the same unless re-closed)."""

    __tablename__ = "report_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # YYYY-MM
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Delivery(Base):
    """One report sent (or being sent) to one recipient over one channel: never twice."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("month", "channel", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    channel: Mapped[str] = mapped_column(String(16))  # resend | smtp | notion
    recipient: Mapped[str] = mapped_column(String(320))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    external_id: Mapped[str | None] = mapped_column(String(200))


class NotionPage(Base):
    """Which Notion page holds which of our keys (service or month x provider x project)."""

    __tablename__ = "notion_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    page_id: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class CostRollupDay(Base):
    """Cost lines added up per day, workspace, project and provenance (no model), for the overview,
    charts and workspace totals at any history size.

    Kept exact by database triggers on ``cost_lines`` (migration 0002): every insert, update and
    delete of a line, by any writer, adds or removes its share in the same transaction. Only the
    SQL of :mod:`costtracker.store.rollups` reads it. ``project_id`` 0 means "no project".
    """

    __tablename__ = "cost_rollup_days"
    __table_args__ = (
        PrimaryKeyConstraint("provider_id", "day", "account_id", "project_id", "provenance", "in_total"),
        {"sqlite_with_rowid": False},
    )

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(Integer)
    provenance: Mapped[str] = mapped_column(String(16))
    in_total: Mapped[bool] = mapped_column(Boolean)
    amount_usd: Mapped[Decimal] = mapped_column(Money)  # NULL amounts add 0: ``converted`` counts them
    lines: Mapped[int] = mapped_column(Integer)
    converted: Mapped[int] = mapped_column(Integer)  # lines with an amount in the reporting currency
    priced: Mapped[int] = mapped_column(Integer)  # lines with an amount at all


class CostRollupMonth(Base):
    """Cost lines added up per calendar month, workspace, project, model and provenance: what
    ``cost_summary`` reads for the whole months of a period (the days around them come from
    ``cost_lines``). Maintained by the same triggers as :class:`CostRollupDay`."""

    __tablename__ = "cost_rollup_months"
    __table_args__ = (
        PrimaryKeyConstraint(
            "provider_id", "month", "account_id", "project_id", "model", "provenance", "in_total"
        ),
        {"sqlite_with_rowid": False},
    )

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # its first day
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(300))  # queries.MODEL_KEY: model, else line item
    provenance: Mapped[str] = mapped_column(String(16))
    in_total: Mapped[bool] = mapped_column(Boolean)
    amount_usd: Mapped[Decimal] = mapped_column(Money)
    requests: Mapped[int] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[int] = mapped_column(Integer)
    converted: Mapped[int] = mapped_column(Integer)
    priced: Mapped[int] = mapped_column(Integer)


class CostRollupTotal(Base):
    """Cost lines added up per provider and calendar month, nothing else: the overview of a year
    reads a few hundred rows of it. Maintained by the same triggers as :class:`CostRollupDay`."""

    __tablename__ = "cost_rollup_totals"
    __table_args__ = (
        PrimaryKeyConstraint("provider_id", "month", "provenance", "in_total"),
        {"sqlite_with_rowid": False},
    )

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # its first day
    provenance: Mapped[str] = mapped_column(String(16))
    in_total: Mapped[bool] = mapped_column(Boolean)
    amount_usd: Mapped[Decimal] = mapped_column(Money)
    lines: Mapped[int] = mapped_column(Integer)
    converted: Mapped[int] = mapped_column(Integer)
    priced: Mapped[int] = mapped_column(Integer)


class LedgerGeneration(Base):
    """A counter per provider, bumped whenever a collection writes its lines or coverage: caches
    in any process compare it to know that what they hold is stale."""

    __tablename__ = "ledger_generations"

    provider_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


__all__ = [
    "Account",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CollectionLock",
    "CollectionRun",
    "CostLine",
    "CostRollupDay",
    "CostRollupMonth",
    "CostRollupTotal",
    "Coverage",
    "Delivery",
    "FxRate",
    "InfraSnapshot",
    "LedgerGeneration",
    "LoginAttempt",
    "ManualEntry",
    "NotionPage",
    "Outcome",
    "Project",
    "Provenance",
    "Provider",
    "ProviderStatus",
    "ReportSnapshot",
    "RevenueRecord",
    "RunLog",
    "RunOutcome",
    "ScheduledJob",
    "Trigger",
    "UsageEvent",
    "User",
    "UserSession",
]
