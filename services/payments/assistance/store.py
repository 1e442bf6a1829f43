"""All of the assistance SQL: an application's adjustment once, financing referrals, and what
the account's view shows of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.assistance.tables import assistance_adjustments, financing_referrals


async def add_adjustment(session: AsyncSession, **values: Any) -> bool:
    """Record an application's adjustment; False when the application was posted already."""
    stmt = (
        pg_insert(assistance_adjustments)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["application_id"])
        .returning(assistance_adjustments.c.application_id)
    )
    return (await session.execute(stmt)).first() is not None


async def add_financing(session: AsyncSession, **values: Any) -> bool:
    """Record a financing referral; False when it is on file already."""
    stmt = (
        pg_insert(financing_referrals)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["referral_id"])
        .returning(financing_referrals.c.referral_id)
    )
    return (await session.execute(stmt)).first() is not None


async def financing_of(session: AsyncSession, account_id: str) -> Sequence[Row[Any]]:
    """The account's financing referrals, oldest first, each active while its financing hold is
    open (the front office's release ends it)."""
    return (
        await session.execute(
            text(
                "SELECT f.referral_id, f.partner_id, f.amount, f.referred_at, EXISTS ("
                "SELECT 1 FROM account_holds h WHERE h.account_id = f.account_id AND h.reason = 'financing' "
                "AND h.source_id = f.referral_id AND h.released_at IS NULL) AS active "
                "FROM financing_referrals f WHERE f.account_id = :a ORDER BY f.referred_at, f.referral_id"
            ),
            {"a": account_id},
        )
    ).all()


async def adjustments_of(session: AsyncSession, account_id: str) -> Sequence[Row[Any]]:
    """The account's financial assistance adjustments, oldest first."""
    return (
        await session.execute(
            text(
                "SELECT application_id, tier, discount_percent, base, amount, posted_at "
                "FROM assistance_adjustments WHERE account_id = :a ORDER BY posted_at, application_id"
            ),
            {"a": account_id},
        )
    ).all()
