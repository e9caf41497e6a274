"""The ``deliveries`` table: one row per month, channel and recipient, so a report goes out once.

Claiming is two-layered. A lease (``collect.locks``, key ``deliver:<month>:<recipient>``) makes
one process at a time work on a recipient, and is taken over when its holder died. Under it, the
row says what already happened: ``sent`` is final unless a resend is asked, ``failed`` and
``pending`` (a sender that died mid-way) are tried again. E-mail channels (``resend``, ``smtp``)
count together: switching transport does not send the same month again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from costtracker.clock import as_utc, utcnow
from costtracker.store.models import Delivery

EMAIL_CHANNELS = ("resend", "smtp")


@dataclass(frozen=True)
class Claim:
    id: int
    key: str  # the idempotency key for this send
    attempts: int


@dataclass(frozen=True)
class AlreadySent:
    channel: str
    sent_at: datetime | None


def idempotency_key(month: str, recipient: str, *, again: int | None = None) -> str:
    """``costtracker/report/2026-01/<hash of the address>``; a resend gets a new suffix."""
    digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:24]
    key = f"costtracker/report/{month}/{digest}"
    return key if again is None else f"{key}/again-{again}"


def claim(
    sessions: sessionmaker[Session], *, month: str, channel: str, recipient: str, resend: bool
) -> Claim | AlreadySent:
    """Mark the delivery ``pending`` and hand out its key, unless it was already sent (and no resend)."""
    address = recipient.lower()
    with sessions.begin() as session:
        rows = list(
            session.scalars(
                select(Delivery).where(
                    Delivery.month == month,
                    Delivery.recipient == address,
                    Delivery.channel.in_(EMAIL_CHANNELS),
                )
            )
        )
        sent = [row for row in rows if row.status == "sent"]
        if sent and not resend:
            return AlreadySent(sent[0].channel, as_utc(sent[0].sent_at) if sent[0].sent_at else None)
        row = next((row for row in rows if row.channel == channel), None)
        if row is None:
            row = Delivery(
                month=month,
                channel=channel,
                recipient=address,
                attempts=0,
                idempotency_key=idempotency_key(month, address),
                status="pending",
            )
            session.add(row)
        if sent:
            row.idempotency_key = idempotency_key(month, address, again=sum(r.attempts for r in rows))
        row.status = "pending"
        session.flush()
        return Claim(row.id, row.idempotency_key, row.attempts)


def record(
    sessions: sessionmaker[Session],
    delivery_id: int,
    *,
    status: str,
    error: str | None = None,
    external_id: str | None = None,
) -> int:
    """Count one attempt and store its outcome; returns the attempts so far."""
    values: dict[str, object] = {"status": status, "last_error": error, "attempts": Delivery.attempts + 1}
    if status == "sent":
        values.update(sent_at=utcnow(), external_id=external_id)
    with sessions.begin() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
        return int(session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id)) or 0)


def record_sync(
    sessions: sessionmaker[Session], *, month: str, target: str, error: str | None, external_id: str | None
) -> None:
    """The outcome of a Notion sync (channel ``notion``; the recipient is the Usages database)."""
    with sessions.begin() as session:
        row = session.scalar(
            select(Delivery).where(
                Delivery.month == month, Delivery.channel == "notion", Delivery.recipient == target
            )
        )
        if row is None:
            row = Delivery(
                month=month,
                channel="notion",
                recipient=target,
                attempts=0,
                idempotency_key=f"costtracker/notion/{month}",
                status="pending",
            )
            session.add(row)
        row.attempts = (row.attempts or 0) + 1
        row.status = "failed" if error else "sent"
        row.last_error = error
        if not error:
            row.sent_at, row.external_id = utcnow(), external_id


def delivery_problems(session: Session, *, month: str | None = None) -> list[Delivery]:
    """Deliveries that did not go out (failed, or left pending by a sender that died): for the panel."""
    query = select(Delivery).where(Delivery.status != "sent").order_by(Delivery.month.desc(), Delivery.id)
    if month is not None:
        query = query.where(Delivery.month == month)
    return list(session.scalars(query))
