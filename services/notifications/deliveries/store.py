"""All of the deliveries' SQL: writing new deliveries, claiming due ones and renewing their lease,
recording outcomes and attempts, and reading a notification's deliveries with their history.

A claim counts the attempt, and the attempt number is the claim's fence: only the sender that
holds attempt n may renew the lease, schedule the next try or give up (a sender whose lease ran
out and whose rows another took cannot overwrite that one's lease). "Sent" needs no fence: the
provider took the message, whoever asks. The stuck-work counts (overdue, failed) are here too."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, text, tuple_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.deliveries.tables import Delivery, DeliveryAttempt
from shared.bulk import insert_many
from shared.due import claim_due
from shared.stuckwork import count_and_oldest

_DELIVERIES = Delivery.__table__
# What a round needs of a claimed delivery (to send it and to tell how it went).
_CLAIMED = [
    _DELIVERIES.c[name]  # type: ignore[attr-defined]
    for name in (
        "id notification_id recipient_id channel address template template_version subject body "
        "cause_event_id attempts"
    ).split()
]
_SENT = text(
    "UPDATE deliveries SET status = 'sent', sent_at = :at, reason = NULL, last_error = NULL "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'pending' RETURNING id"
)
# Per row (executemany): each row has its own next try and error.
_RETRY = text(
    "UPDATE deliveries SET next_attempt_at = :next, last_error = :error, reason = 'retrying' "
    "WHERE id = :id AND status = 'pending' AND attempts = :attempt"
)
_FAILED = text(
    "UPDATE deliveries SET status = 'failed', last_error = :error, reason = :error "
    "WHERE id = :id AND status = 'pending' AND attempts = :attempt RETURNING id"
)


async def add_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """New deliveries (one statement for a whole poll's)."""
    await insert_many(session, _DELIVERIES, rows)  # type: ignore[arg-type]


async def claim(session: AsyncSession, channel: str, *, lease: float, limit: int) -> Sequence[Row[Any]]:
    """Up to `limit` due pending deliveries of `channel`, oldest due first, taken for `lease`
    seconds (rows other rounds or replicas hold are skipped) with the attempt counted."""
    c = _DELIVERIES.c  # type: ignore[attr-defined]
    return await claim_due(
        session,
        _DELIVERIES,
        due=and_(c.status == "pending", c.channel == channel, c.next_attempt_at <= func.now()),
        order_by=[c.next_attempt_at],
        limit=limit,
        lease=(c.next_attempt_at, lease),
        values={"attempts": c.attempts + 1},
        returning=_CLAIMED,
    )


async def renew(session: AsyncSession, held: Sequence[tuple[uuid.UUID, int]], *, lease: float) -> None:
    """Push the lease of the rows this sender still holds (`(id, attempt)` pairs, still pending)
    `lease` seconds forward again: the heartbeat of a round whose sends are running."""
    c = _DELIVERIES.c  # type: ignore[attr-defined]
    await session.execute(
        update(_DELIVERIES)
        .where(c.status == "pending", tuple_(c.id, c.attempts).in_(list(held)))
        .values(next_attempt_at=func.clock_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, lease))
    )


async def record_outcomes(
    session: AsyncSession,
    *,
    at: datetime,
    sent: Sequence[uuid.UUID],
    retries: Sequence[Mapping[str, Any]],
    failures: Sequence[Mapping[str, Any]],
) -> set[uuid.UUID]:
    """Sent rows, rows to retry (`id`, `attempt`, `next`, `error`) and rows that failed for good
    (`id`, `attempt`, `error`). Rows no longer pending (another sender's outcome) and retries or
    failures of a claim another sender has since taken are left alone. Returns the rows whose
    sent or failed outcome this call recorded (the ones to announce)."""
    recorded: set[uuid.UUID] = set()
    if sent:
        recorded.update((await session.execute(_SENT, {"ids": list(sent), "at": at})).scalars())
    if retries:
        await session.execute(_RETRY, list(retries))
    for failure in failures:  # rare: one statement each, to learn which ones took
        recorded.update((await session.execute(_FAILED, dict(failure))).scalars())
    return recorded


async def add_attempts(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append tries to the history (`delivery_id`, `attempt`, `at`, `outcome`, `error`)."""
    await insert_many(session, DeliveryAttempt.__table__, rows)  # type: ignore[arg-type]


async def of_notifications(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Delivery]:
    """The deliveries of these notifications, by channel."""
    return (
        await session.exec(
            select(Delivery).where(col(Delivery.notification_id).in_(ids)).order_by(col(Delivery.channel))
        )
    ).all()


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[uuid.UUID]) -> Sequence[DeliveryAttempt]:
    """Every try of these deliveries, in order."""
    return (
        await session.exec(
            select(DeliveryAttempt)
            .where(col(DeliveryAttempt.delivery_id).in_(delivery_ids))
            .order_by(col(DeliveryAttempt.delivery_id), col(DeliveryAttempt.attempt))
        )
    ).all()


async def overdue(session: AsyncSession) -> tuple[int, float | None]:
    """Pending deliveries that are due and not taken (their next try or their lease is past):
    how many, and seconds since the oldest fell due (index `deliveries_due`)."""
    c = _DELIVERIES.c  # type: ignore[attr-defined]
    return await count_and_oldest(
        session, _DELIVERIES, c.next_attempt_at, c.status == "pending", c.next_attempt_at <= func.now()
    )


async def failed_since(session: AsyncSession, hours: float) -> tuple[int, float | None]:
    """Deliveries made in the last `hours` that failed for good: how many, and seconds since the
    oldest was made (index `deliveries_failed`)."""
    c = _DELIVERIES.c  # type: ignore[attr-defined]
    since = func.now() - func.make_interval(0, 0, 0, 0, hours)
    return await count_and_oldest(
        session, _DELIVERIES, c.created_at, c.status == "failed", c.created_at > since
    )
