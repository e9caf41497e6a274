"""The small contract every source follows.

A source knows one provider's API. From the settings it learns its *credentials* (one per
configured key: an OpenAI workspace, an Anthropic organisation...). For each credential it can

* ``discover``: the accounts (workspaces) and projects (projects, API keys) the key sees;
* ``collect``: a period's normalised :class:`CostRecord` lines, each with its provenance.

It never builds an HTTP client (it receives an :class:`~costtracker.http.Http`), never touches
the database and never catches errors it cannot handle: the engine stores failures as data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import SecretStr

from costtracker.http import Http, RateLimit
from costtracker.settings import Settings
from costtracker.store.models import Provenance


@dataclass(frozen=True)
class Period:
    """Inclusive UTC days ``start``..``end``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end is before start")

    @property
    def start_datetime(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_exclusive(self) -> datetime:
        """Midnight after the last day: the exclusive bound most APIs take."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        following = date(year + (month == 12), month % 12 + 1, 1)
        return cls(first, following - timedelta(days=1))


@dataclass(frozen=True)
class Credential:
    """One configured key. ``label`` names it in messages (``Edugami``); the secret never prints."""

    label: str
    secret: SecretStr
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountInfo:
    external_id: str
    name: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectInfo:
    account: str  # AccountInfo.external_id
    external_id: str
    name: str
    kind: str = "project"  # project | api_key | sub_account
    status: str = "active"  # active | archived
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Discovery:
    accounts: list[AccountInfo]
    projects: list[ProjectInfo] = field(default_factory=list)


@dataclass
class CostRecord:
    """One normalised line. ``amount`` is None when unknown (``unpriced``), never 0 for unknown."""

    day: date
    account: str  # AccountInfo.external_id
    provenance: Provenance
    amount: Decimal | None
    currency: str = "USD"
    project: str = ""  # ProjectInfo.external_id, '' when the line is not per project
    model: str = ""
    line_item: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    requests: int | None = None
    characters: int | None = None
    audio_seconds: Decimal | None = None
    usage_extra: dict[str, Any] = field(default_factory=dict)
    price_table: str | None = None
    price_table_version: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # False for an estimate of usage that is also billed (e.g. OpenAI usage x prices next to the
    # Costs API): it feeds the per-model view but is never added to totals.
    in_total: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("CostRecord.amount must be Decimal, never float")
        if self.provenance == Provenance.UNPRICED and self.amount is not None:
            raise ValueError("an unpriced line has no amount")
        if self.provenance != Provenance.UNPRICED and self.amount is None:
            raise ValueError(f"a {self.provenance} line needs an amount")
        if self.provenance == Provenance.ESTIMATED and not self.price_table_version:
            raise ValueError("an estimated line names its price table and version")


@dataclass
class Collection:
    """What one credential yielded for a period. ``complete`` is False when part is missing."""

    records: list[CostRecord]
    complete: bool = True
    notes: list[str] = field(default_factory=list)
    # The days these records fully replace: None means the whole period asked for, [] nothing.
    # A source whose API only reaches back so far (OpenRouter: 30 days) names the days it really
    # covered, so lines stored earlier for older days are kept instead of being deleted and lost.
    replaces: list[Period] | None = None
    # When incomplete: the days that are (e.g. a month to date), so the others count as complete.
    # None means every day of an incomplete collection is incomplete.
    incomplete: list[Period] | None = None


class Source(ABC):
    """Base class of every source. Subclasses set the class attributes and three methods."""

    key: ClassVar[str]
    display_name: ClassVar[str]
    kind: ClassVar[str] = "llm"  # llm | infra | revenue | app
    console_url: ClassVar[str | None] = None
    has_workspaces: ClassVar[bool] = False
    rate_limit: ClassVar[RateLimit] = RateLimit()
    settings_keys: ClassVar[tuple[str, ...]] = ()  # environment variables holding its keys (docs, check)

    def __init__(self, settings: Settings, http: Http) -> None:
        self.settings = settings
        self.http = http

    @classmethod
    def base_url(cls, settings: Settings) -> str:
        """The API origin, from ``COSTTRACKER_<KEY>_BASE_URL``."""
        return str(getattr(settings, f"{cls.key}_base_url"))

    @classmethod
    @abstractmethod
    def credentials(cls, settings: Settings) -> list[Credential]:
        """The configured keys; empty when the source is not configured (it is then skipped)."""

    @classmethod
    def configuration_problem(cls, settings: Settings) -> str | None:
        """Why this source cannot collect with these settings although something is set, in plain words.

        None means "nothing to say": either it has credentials or it is simply not configured.
        The engine reports a source with a problem as ``unavailable`` with this reason.
        """
        return None

    @classmethod
    def home_account(cls, credential: Credential) -> AccountInfo | None:
        """The account a credential stands for, known without calling the API, or None.

        OpenAI's workspace key *is* the workspace; a single-account provider's key is its
        "default" account. The engine uses it to show a failed credential under the right
        workspace even when discovery never succeeded. None when accounts are only discovered.
        """
        return None

    @abstractmethod
    def auth_headers(self, credential: Credential) -> dict[str, str]:
        """Headers that authenticate a request made with this credential."""

    @abstractmethod
    async def discover(self, credential: Credential) -> Discovery:
        """The accounts and projects this credential sees."""

    @abstractmethod
    async def collect(self, credential: Credential, period: Period) -> Collection:
        """The period's cost lines for this credential."""

    async def get(self, credential: Credential, path: str, params: Any = None) -> Any:
        """GET JSON with this credential's headers; errors name the provider and workspace."""
        return await self.http.get_json(
            path, params=params, headers=self.auth_headers(credential), account=credential.label
        )
