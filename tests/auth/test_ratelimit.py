"""The login rate limit, on the database with a clock passed in (no sleeping)."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from costtracker.auth.ratelimit import ADDRESS_FACTOR, LoginLimiter
from costtracker.clock import utcnow
from tests.conftest import Db

LIMITER = LoginLimiter(max_attempts=3, window=timedelta(minutes=15))


@pytest.fixture
def session(db: Db) -> Iterator[Session]:
    with db.sessions() as session:
        yield session


def fail(session: Session, email: str, address: str | None, now: datetime, times: int = 1) -> None:
    for _ in range(times):
        LIMITER.failed(session, email, address, now)
    session.commit()


def test_it_limits_an_e_mail_after_the_allowed_failures(session: Session) -> None:
    now = utcnow()
    fail(session, "a@example.com", "10.0.0.1", now, times=2)
    assert LIMITER.retry_after(session, "a@example.com", "10.0.0.1", now) is None
    fail(session, "a@example.com", "10.0.0.1", now)
    wait = LIMITER.retry_after(session, "A@Example.com", "10.0.0.2", now)
    assert wait is not None and 890 <= wait <= 901


def test_the_limit_lifts_when_the_window_passes(session: Session) -> None:
    now = utcnow()
    fail(session, "a@example.com", None, now, times=3)
    assert LIMITER.retry_after(session, "a@example.com", None, now + timedelta(minutes=14)) is not None
    assert LIMITER.retry_after(session, "a@example.com", None, now + timedelta(minutes=15, seconds=1)) is None


def test_an_address_trying_many_e_mails_is_limited_too(session: Session) -> None:
    now = utcnow()
    for index in range(3 * ADDRESS_FACTOR):
        fail(session, f"user{index}@example.com", "10.0.0.9", now)
    assert LIMITER.retry_after(session, "fresh@example.com", "10.0.0.9", now) is not None
    assert LIMITER.retry_after(session, "fresh@example.com", "10.0.0.10", now) is None


def test_a_success_clears_the_e_mail_counter_only(session: Session) -> None:
    now = utcnow()
    fail(session, "a@example.com", "10.0.0.1", now, times=3)
    LIMITER.succeeded(session, "a@example.com")
    session.commit()
    assert LIMITER.retry_after(session, "a@example.com", "10.0.0.1", now) is None


def test_old_failures_are_forgotten(session: Session) -> None:
    from sqlalchemy import func, select

    from costtracker.store.models import LoginAttempt

    now = utcnow()
    fail(session, "a@example.com", "10.0.0.1", now - timedelta(hours=1), times=3)
    fail(session, "b@example.com", None, now)
    assert session.scalar(select(func.count(LoginAttempt.id))) == 1
