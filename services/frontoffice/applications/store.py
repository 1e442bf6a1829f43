"""All of the applications sub-domain's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.applications.tables import Application, ApplicationDocument


async def add(session: AsyncSession, row: Any) -> None:
    """A new application or document, in the caller's transaction."""
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, application_id: uuid.UUID, *, lock: bool = False) -> Application | None:
    """One application; `lock` holds it (FOR UPDATE) so two deciders or approvers serialize."""
    stmt = select(Application).where(Application.id == application_id)  # type: ignore[arg-type]
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def documents(session: AsyncSession, application_id: uuid.UUID) -> Sequence[ApplicationDocument]:
    """An application's documents, in the order recorded."""
    stmt = (
        select(ApplicationDocument)
        .where(ApplicationDocument.application_id == application_id)  # type: ignore[arg-type]
        .order_by(ApplicationDocument.recorded_at, ApplicationDocument.id)  # type: ignore[arg-type]
    )
    return (await session.execute(stmt)).scalars().all()


async def document_count(session: AsyncSession, application_id: uuid.UUID) -> int:
    """How many documents an application has."""
    stmt = select(func.count()).where(ApplicationDocument.application_id == application_id)  # type: ignore[arg-type]
    return int((await session.execute(stmt)).scalar_one())
