"""All of the money limits' SQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.limits.tables import MoneyLimitVersion


async def latest(session: AsyncSession) -> MoneyLimitVersion | None:
    """The limits in force: the newest version, or None before the first change."""
    stmt = select(MoneyLimitVersion).order_by(MoneyLimitVersion.version.desc()).limit(1)  # type: ignore[union-attr]
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert(session: AsyncSession, row: MoneyLimitVersion) -> MoneyLimitVersion:
    """A new version, in the caller's transaction; its number is the table's identity."""
    session.add(row)
    await session.flush()
    return row
