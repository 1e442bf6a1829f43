"""All SQL on the denials and appeals tables."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.claims.denials.schemas import DenialFilters
from services.claims.denials.tables import Appeal, Denial


def queue_statement(filters: DenialFilters, now: datetime) -> SelectOfScalar[Denial]:
    """Denials matching the queue's filters at `now` (ages count from the denial); paging is
    the caller's."""
    stmt = select(Denial).where(
        Denial.status == filters.status if filters.status else Denial.status != "resolved"
    )
    equal = [
        (Denial.reason_code, filters.reason),
        (Denial.payer_id, filters.payer_id),
        (Denial.action, filters.action),
        (Denial.assignee, filters.assignee),
        (Denial.claim_id, filters.claim_id),
    ]
    for column, value in equal:
        if value:
            stmt = stmt.where(column == value)
    if filters.min_age_days is not None:
        stmt = stmt.where(col(Denial.denied_at) <= now - timedelta(days=filters.min_age_days))
    if filters.max_age_days is not None:
        stmt = stmt.where(col(Denial.denied_at) >= now - timedelta(days=filters.max_age_days))
    return stmt


async def get_denial(session: AsyncSession, denial_id: uuid.UUID, *, lock: bool = False) -> Denial | None:
    return await session.get(Denial, denial_id, with_for_update=lock)


async def latest_open_denial(
    session: AsyncSession, claim_id: uuid.UUID, denial_id: uuid.UUID | None = None
) -> Denial | None:
    """The claim's most recent denial not resolved yet (or that one denial, if still open)."""
    stmt = select(Denial).where(Denial.claim_id == claim_id, Denial.status != "resolved")
    if denial_id:
        stmt = stmt.where(Denial.id == denial_id)
    return (await session.exec(stmt.order_by(col(Denial.denied_at).desc()))).first()


def add(session: AsyncSession, row: Denial | Appeal) -> None:
    """A new or changed denial or appeal, written with the caller's transaction."""
    session.add(row)


async def resolve_open(session: AsyncSession, claim_id: uuid.UUID, resolution: str, when: datetime) -> None:
    """Resolve every open denial of a claim (its correction or void was sent)."""
    await session.exec(
        update(Denial)
        .where(col(Denial.claim_id) == claim_id, col(Denial.status) != "resolved")
        .values(status="resolved", resolved_at=when, resolution=resolution)
    )


def appeals_statement(claim_id: uuid.UUID) -> SelectOfScalar[Appeal]:
    """A claim's appeals; paging is the caller's."""
    return select(Appeal).where(Appeal.claim_id == claim_id)


async def get_appeal(session: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = False) -> Appeal | None:
    return await session.get(Appeal, appeal_id, with_for_update=lock)
