"""The service levels' SQL: taking the tickets whose next check is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.tickets.domain import OPEN_STATUSES
from services.frontoffice.tickets.tables import Ticket
from shared.due import claim_due


async def take_breached(session: AsyncSession, now: datetime, limit: int) -> Sequence[Ticket]:
    """Open tickets whose next service-level check is at or before `now`, oldest first, locked
    FOR UPDATE SKIP LOCKED until the caller's transaction ends (replicas share them, a ticket
    is escalated by one of them, once)."""
    rows = await claim_due(
        session,
        Ticket,
        due=and_(col(Ticket.next_check_at) <= now, col(Ticket.status).in_(OPEN_STATUSES)),
        order_by=[col(Ticket.next_check_at), col(Ticket.id)],
        limit=limit,
        returning=[col(Ticket.id)],
    )
    ids = [row.id for row in rows]
    if not ids:
        return []
    # The rows are locked by this transaction: loading them as entities takes no new lock.
    found = {t.id: t for t in (await session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))).all()}
    return [found[i] for i in ids]
