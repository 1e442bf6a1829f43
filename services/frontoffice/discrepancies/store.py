"""All of the discrepancies' SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.discrepancies.tables import discrepancies
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate


async def insert(session: AsyncSession, row: dict[str, Any]) -> bool:
    """A new discrepancy; False when its check opened one already (a redelivered event)."""
    inserted = await insert_many(session, discrepancies, [row], on_conflict=["check_id"], returning=["id"])
    return bool(inserted)


async def load(session: AsyncSession, discrepancy_id: uuid.UUID, *, lock: bool = False) -> RowMapping | None:
    """One discrepancy; `lock` takes it for a decision (two people accepting decide once)."""
    stmt = select(discrepancies).where(discrepancies.c.id == discrepancy_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).mappings().first()


async def decide(session: AsyncSession, discrepancy_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Record the decision (status, who, when, note, outcome)."""
    await session.execute(update(discrepancies).where(discrepancies.c.id == discrepancy_id).values(**values))


async def listing(
    session: AsyncSession, status: str | None, patient_id: str | None, dates: DateRange, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """Discrepancies recorded within `dates`, newest first, by status and patient when given."""
    stmt = dates.apply(select(discrepancies), discrepancies.c.created_at)
    if status:
        stmt = stmt.where(discrepancies.c.status == status)
    if patient_id:
        stmt = stmt.where(discrepancies.c.patient_id == patient_id)
    return await paginate(session, stmt, page, discrepancies.c.created_at, discrepancies.c.id)
