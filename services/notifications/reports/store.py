"""The reports' SQL: counts over the notifications and deliveries of a range of days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

_DELIVERIES = text(
    "SELECT channel, status, count(*) FROM deliveries "
    "WHERE created_at >= :start AND created_at < :end GROUP BY 1, 2"
)
_NOTIFICATIONS = text(
    "SELECT m.template, coalesce(r.kind, 'patient'), count(*) FROM inbox_messages m "
    "LEFT JOIN recipients r ON r.id = m.recipient_id "
    "WHERE m.created_at >= :start AND m.created_at < :end GROUP BY 1, 2"
)


async def deliveries_by_channel_and_status(
    session: AsyncSession, start: date, end: date
) -> Sequence[Row[Any]]:
    """(channel, status, count) of deliveries created in [start, end)."""
    return (await session.execute(_DELIVERIES, {"start": start, "end": end})).all()


async def notifications_by_template_and_audience(
    session: AsyncSession, start: date, end: date
) -> Sequence[Row[Any]]:
    """(template, recipient kind, count) of notifications created in [start, end); a recipient
    not in the directory is a patient."""
    return (await session.execute(_NOTIFICATIONS, {"start": start, "end": end})).all()
