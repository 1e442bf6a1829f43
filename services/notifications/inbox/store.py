"""All of the inbox's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.inbox.tables import InboxMessage
from shared.bulk import insert_many
from shared.paging import PageQuery, paginate

_EXISTING = text(
    "SELECT cause_event_id, recipient_id, template FROM inbox_messages "
    "WHERE cause_event_id = ANY(CAST(:ids AS uuid[]))"
)


async def existing_keys(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, str, str]]:
    """The (cause event, recipient, template) keys these events already have notifications for."""
    rows = (await session.execute(_EXISTING, {"ids": list(event_ids)})).all()
    return {(r.cause_event_id, r.recipient_id, r.template) for r in rows}


async def add_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """New notifications (one statement for a whole poll's)."""
    await insert_many(session, InboxMessage.__table__, rows)  # type: ignore[arg-type]


async def get(session: AsyncSession, notification_id: uuid.UUID) -> InboxMessage | None:
    return await session.get(InboxMessage, notification_id)


async def page(
    session: AsyncSession, recipient_id: str, page: PageQuery
) -> tuple[Sequence[InboxMessage], str | None]:
    """One page of the recipient's notifications, newest first, and the next page's cursor."""
    return await paginate(
        session,
        select(InboxMessage).where(InboxMessage.recipient_id == recipient_id),
        page,
        col(InboxMessage.created_at),
        col(InboxMessage.id),
    )


async def latest(session: AsyncSession, recipient_id: str, limit: int) -> Sequence[InboxMessage]:
    """The recipient's newest `limit` notifications (the original inbox route's order)."""
    return (
        await session.exec(
            select(InboxMessage)
            .where(InboxMessage.recipient_id == recipient_id)
            .order_by(col(InboxMessage.created_at).desc())
            .limit(limit)
        )
    ).all()


async def mark_read(session: AsyncSession, message: InboxMessage, at: datetime) -> None:
    message.read_at = at
    session.add(message)
    await session.commit()
