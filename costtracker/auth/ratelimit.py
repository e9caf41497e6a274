"""The login rate limit: failed attempts are rows in ``login_attempts``, shared by every process.

Two counters: per e-mail (guessing one account's password) and per client address
(trying many accounts); the address gets three times the allowance because several people
may share it. The clock is a parameter, so tests move time instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from costtracker.clock import as_utc
from costtracker.store.models import LoginAttempt

ADDRESS_FACTOR = 3


@dataclass(frozen=True)
class LoginLimiter:
    max_attempts: int
    window: timedelta

    @staticmethod
    def keys(email: str, address: str | None) -> dict[str, int]:
        """The counters a login attempt touches, each with its share of the allowance."""
        keys = {f"email:{email.strip().lower()}"[:400]: 1}
        if address:
            keys[f"ip:{address}"[:400]] = ADDRESS_FACTOR
        return keys

    def retry_after(self, session: Session, email: str, address: str | None, now: datetime) -> int | None:
        """Seconds to wait when a counter is full, else None."""
        waits = []
        for key, factor in self.keys(email, address).items():
            since = now - self.window
            query = select(func.count(LoginAttempt.id), func.min(LoginAttempt.at)).where(
                LoginAttempt.key == key, LoginAttempt.at > since
            )
            count, oldest = session.execute(query).one()
            if count >= self.max_attempts * factor and oldest is not None:
                waits.append((as_utc(oldest) + self.window - now).total_seconds())
        return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, session: Session, email: str, address: str | None, now: datetime) -> None:
        """Count a failure, and forget the ones that left the window."""
        session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - self.window))
        for key in self.keys(email, address):
            session.add(LoginAttempt(key=key, at=now))

    def succeeded(self, session: Session, email: str) -> None:
        """A correct login clears the e-mail's counter (not the address's)."""
        key = next(iter(self.keys(email, None)))
        session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))
