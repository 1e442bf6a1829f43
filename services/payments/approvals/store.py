"""All of the approvals' SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.approvals.tables import Approval
from shared.paging import DateRange, PageQuery, paginate


async def insert(session: AsyncSession, approval: Approval) -> None:
    """A new pending approval, in the requester's transaction."""
    session.add(approval)
    await session.flush()


async def get(session: AsyncSession, approval_id: uuid.UUID, *, lock: bool = False) -> Approval | None:
    """One approval; `lock` holds it (FOR UPDATE) so two approvers cannot both run it."""
    stmt = select(Approval).where(Approval.id == approval_id)  # type: ignore[arg-type]
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def decide(
    session: AsyncSession,
    approval_id: uuid.UUID,
    *,
    status: str,
    actor: str,
    when: datetime,
    note: str | None,
    result: dict[str, Any] | None,
) -> None:
    """Close a pending approval (once: the WHERE keeps a decided row as it was)."""
    await session.execute(
        update(Approval)
        .where(Approval.id == approval_id, Approval.status == "pending")  # type: ignore[arg-type]
        .values(status=status, decided_by=actor, decided_at=when, decision_note=note, result=result)
    )


async def page(
    session: AsyncSession, page: PageQuery, dates: DateRange, *, status: str | None, kind: str | None
) -> tuple[Sequence[Any], str | None]:
    """One page of approvals, oldest first (a work queue is worked in the order it came)."""
    stmt = select(Approval)
    if status is not None:
        stmt = stmt.where(Approval.status == status)  # type: ignore[arg-type]
    if kind is not None:
        stmt = stmt.where(Approval.kind == kind)  # type: ignore[arg-type]
    stmt = dates.apply(stmt, Approval.requested_at)
    return await paginate(session, stmt, page, Approval.requested_at, Approval.id, oldest_first=True)
