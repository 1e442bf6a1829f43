"""The ticket report's SQL: three grouped queries, each one statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.tickets.domain import OPEN_STATUSES
from services.frontoffice.tickets.tables import Ticket
from shared.paging import DateRange


async def open_by_age(session: AsyncSession, now: datetime) -> Sequence[Row[Any]]:
    """(category, bucket, count) of open tickets; bucket by whole days since opened."""
    days = func.floor(func.extract("epoch", now - col(Ticket.created_at)) / 86400)
    bucket = case((days <= 2, "0-2"), (days <= 7, "3-7"), (days <= 30, "8-30"), else_=">30")
    stmt = (
        select(Ticket.category, bucket.label("bucket"), func.count().label("n"))
        .where(col(Ticket.status).in_(OPEN_STATUSES))
        .group_by(Ticket.category, bucket)
    )
    return (await session.execute(stmt)).all()


async def breaches(session: AsyncSession, dates: DateRange) -> Sequence[Row[Any]]:
    """(category, breaches, still_open) of tickets first breached within `dates`."""
    still_open = func.count().filter(col(Ticket.status).in_(OPEN_STATUSES))
    stmt = select(Ticket.category, func.count().label("n"), still_open.label("open")).where(
        col(Ticket.breached_at).is_not(None)
    )
    stmt = dates.apply(stmt, col(Ticket.breached_at)).group_by(Ticket.category)
    return (await session.execute(stmt)).all()


async def time_to_resolve(session: AsyncSession, dates: DateRange) -> Sequence[Row[Any]]:
    """(category, resolved, median seconds) of tickets resolved within `dates`."""
    seconds = func.extract("epoch", col(Ticket.resolved_at) - col(Ticket.created_at))
    median = func.percentile_cont(0.5).within_group(seconds)
    stmt = select(Ticket.category, func.count().label("n"), median.label("median")).where(
        col(Ticket.resolved_at).is_not(None)
    )
    stmt = dates.apply(stmt, col(Ticket.resolved_at)).group_by(Ticket.category)
    return (await session.execute(stmt)).all()
