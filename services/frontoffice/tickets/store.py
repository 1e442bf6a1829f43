"""All of the tickets' SQL: tickets, their notes and history, their holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.frontoffice.tickets.schemas import TicketFilters
from services.frontoffice.tickets.tables import Ticket, TicketHold, TicketNote
from shared.paging import DateRange, PageQuery, paginate


async def next_number(session: AsyncSession) -> int:
    """The next human number (a sequence: gaps after a rollback, never a repeat)."""
    return int((await session.execute(text("SELECT nextval('ticket_numbers')"))).scalar_one())


async def get(session: AsyncSession, ticket_id: uuid.UUID, *, lock: bool = False) -> Ticket | None:
    return await session.get(Ticket, ticket_id, with_for_update=lock)


def add(session: AsyncSession, *rows: Ticket | TicketNote | TicketHold) -> None:
    session.add_all(rows)


async def listed_page(
    session: AsyncSession, filters: TicketFilters, dates: DateRange, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """One page of `listed`, newest first (keyset on created_at, id)."""
    return await paginate(session, listed(filters, dates), page, Ticket.created_at, Ticket.id)


def listed(filters: TicketFilters, dates: DateRange) -> SelectOfScalar[Ticket]:
    """Tickets matching the filters, created within `dates`."""
    stmt = select(Ticket)
    for column, value in (
        (Ticket.status, filters.status),
        (Ticket.category, filters.category),
        (Ticket.assignee_id, filters.assignee_id),
        (Ticket.account_id, filters.account_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return dates.apply(stmt, col(Ticket.created_at))


async def notes(session: AsyncSession, ticket_id: uuid.UUID) -> Sequence[TicketNote]:
    stmt = select(TicketNote).where(TicketNote.ticket_id == ticket_id)
    return (await session.exec(stmt.order_by(col(TicketNote.created_at), col(TicketNote.id)))).all()


async def holds(session: AsyncSession, ticket_id: uuid.UUID) -> Sequence[TicketHold]:
    stmt = select(TicketHold).where(TicketHold.ticket_id == ticket_id)
    return (await session.exec(stmt.order_by(col(TicketHold.placed_at)))).all()


async def active_hold(session: AsyncSession, ticket_id: uuid.UUID) -> TicketHold | None:
    stmt = select(TicketHold).where(TicketHold.ticket_id == ticket_id, col(TicketHold.released_at).is_(None))
    return (await session.exec(stmt.with_for_update())).first()


async def touch(session: AsyncSession, ticket: Ticket, at: datetime) -> None:
    """Mark the ticket changed (flushed with the session)."""
    ticket.updated_at = at
    session.add(ticket)
