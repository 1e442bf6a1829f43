"""All of the financing sub-domain's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.financing.tables import Referral
from shared.paging import DateRange, PageQuery, paginate


async def add(session: AsyncSession, row: Referral) -> None:
    """A new referral, in the caller's transaction."""
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, referral_id: uuid.UUID) -> Referral | None:
    """One referral."""
    return await session.get(Referral, referral_id)


async def page(
    session: AsyncSession, dates: DateRange, page: PageQuery, *, partner_id: str | None
) -> tuple[Sequence[Any], str | None]:
    """Referrals in a date range (by referral time), oldest first: the partner works through
    them in the order they were made."""
    stmt = select(Referral)
    if partner_id is not None:
        stmt = stmt.where(Referral.partner_id == partner_id)  # type: ignore[arg-type]
    stmt = dates.apply(stmt, Referral.referred_at)
    return await paginate(session, stmt, page, Referral.referred_at, Referral.id, oldest_first=True)
