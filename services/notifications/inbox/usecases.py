"""The inbox's use cases: a recipient's notifications page by page, one notification with its
deliveries and attempt history, and marking one read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.deliveries import store as deliveries
from services.notifications.inbox import store
from services.notifications.inbox.schemas import (
    AttemptOut,
    DeliveryOut,
    MessageOut,
    NotificationOut,
)
from services.notifications.inbox.tables import InboxMessage
from services.notifications.recipients.usecases import is_known
from shared.paging import CursorPage, PageQuery
from shared.problems import ProblemError, invalid


async def _deliveries(
    session: AsyncSession, ids: list[uuid.UUID], with_history: bool = False
) -> dict[uuid.UUID, list[DeliveryOut]]:
    """Each notification's deliveries by channel (with every attempt when asked); a delivery's
    next attempt shows only while it is pending."""
    rows = await deliveries.of_notifications(session, ids)
    history: dict[uuid.UUID, list[AttemptOut]] = {}
    if with_history and rows:
        for a in await deliveries.attempts_of(session, [d.id for d in rows]):
            history.setdefault(a.delivery_id, []).append(AttemptOut.model_validate(a, from_attributes=True))
    result: dict[uuid.UUID, list[DeliveryOut]] = {}
    for d in rows:
        out = DeliveryOut.model_validate(d, from_attributes=True)
        if d.status != "pending":
            out.next_attempt_at = None
        if with_history:
            out.history = history.get(d.id, [])
        result.setdefault(d.notification_id, []).append(out)
    return result


def _out(m: InboxMessage, deliveries: dict[uuid.UUID, list[DeliveryOut]]) -> NotificationOut:
    return NotificationOut.model_validate({**m.model_dump(), "deliveries": deliveries.get(m.id, [])})


async def notifications_page(
    session: AsyncSession, recipient_id: str, page: PageQuery
) -> CursorPage[NotificationOut]:
    """A page of the recipient's notifications, newest first; 422 for an unknown recipient
    (on the first page) or a cursor this service did not make."""
    rows, next_cursor = await store.page(session, recipient_id, page)
    if not rows and page.cursor is None and not await is_known(session, recipient_id):
        raise invalid(("query.recipient", "unknown_recipient", "No such recipient."))
    found = await _deliveries(session, [m.id for m in rows])
    return CursorPage[NotificationOut](items=[_out(m, found) for m in rows], next_cursor=next_cursor)


async def notification_or_404(session: AsyncSession, notification_id: uuid.UUID) -> InboxMessage:
    found = await store.get(session, notification_id)
    if found is None:
        raise ProblemError(404, "not-found", "Not found", "No such notification.")
    return found


async def notification(session: AsyncSession, message: InboxMessage) -> NotificationOut:
    """The notification with its deliveries and every attempt."""
    return _out(message, await _deliveries(session, [message.id], with_history=True))


async def mark_read(session: AsyncSession, message: InboxMessage) -> NotificationOut:
    """Mark it read; the first read time stays."""
    if message.read_at is None:
        await store.mark_read(session, message, datetime.now(UTC))
    return _out(message, await _deliveries(session, [message.id]))


async def latest_messages(session: AsyncSession, recipient_id: str, limit: int) -> list[MessageOut]:
    return [
        MessageOut.model_validate(r, from_attributes=True)
        for r in await store.latest(session, recipient_id, limit)
    ]
