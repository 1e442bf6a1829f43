"""All of the account holds' SQL: placing one once, releasing it, and which accounts are held."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.account_holds.tables import account_holds


async def add(session: AsyncSession, **values: Any) -> bool:
    """Place a hold; False when it is on file already (the same hold id, or an open hold of the
    same reason and source: a redelivery, or the same ticket told twice)."""
    stmt = pg_insert(account_holds).values(**values).on_conflict_do_nothing().returning(account_holds.c.id)
    return (await session.execute(stmt)).first() is not None


async def release(
    session: AsyncSession,
    *,
    hold_id: uuid.UUID,
    account_id: str,
    reason: str,
    source_id: uuid.UUID,
    outcome: str,
    at: datetime,
) -> Sequence[Row[Any]]:
    """End the open holds the release names (by hold id, or by reason and source; a financing
    release ends every open financing hold of the account: it is financed once at a time). The
    holds ended; none when nothing was placed or it was released already."""
    return (
        await session.execute(
            text(
                "UPDATE account_holds SET released_at = :at, outcome = :o "
                "WHERE released_at IS NULL AND account_id = :a AND (id = :h OR "
                "(reason = :r AND (source_id = :s OR reason = 'financing'))) "
                "RETURNING id, reason, source_id"
            ),
            {"at": at, "o": outcome, "a": account_id, "h": hold_id, "r": reason, "s": source_id},
        )
    ).all()


async def held(session: AsyncSession, account_ids: Sequence[str] | None) -> Sequence[Row[Any]]:
    """Per account with an open hold (of these, or of all): whether any holds its statements,
    whether any holds its collections."""
    return (
        await session.execute(
            text(
                "SELECT account_id, bool_or(holds_statements) AS statements, "
                "bool_or(holds_collections) AS collections FROM account_holds "
                "WHERE released_at IS NULL AND (CAST(:all AS boolean) OR account_id = ANY(:a)) "
                "GROUP BY account_id"
            ),
            {"all": account_ids is None, "a": list(account_ids or [])},
        )
    ).all()


async def open_holds(session: AsyncSession, account_id: str) -> Sequence[Row[Any]]:
    """The account's open holds, oldest first."""
    return (
        await session.execute(
            text(
                "SELECT id, reason, source_id, holds_statements, holds_collections, placed_at "
                "FROM account_holds WHERE account_id = :a AND released_at IS NULL ORDER BY placed_at, id"
            ),
            {"a": account_id},
        )
    ).all()
