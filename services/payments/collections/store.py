"""All of the collections SQL: referrals and their recall, disputes, and what the export
reads and audits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.collections.tables import AccountDispute, CollectionsReferral
from shared.paging import DateRange, PageQuery, paginate


async def add_referral(session: AsyncSession, **values: Any) -> bool:
    """Refer an account; False when it already has an open (not recalled) referral."""
    stmt = (
        pg_insert(CollectionsReferral.__table__)  # type: ignore[attr-defined]
        .values(**values)
        .on_conflict_do_nothing(index_elements=["account_id"], index_where=text("recalled_at IS NULL"))
        .returning(CollectionsReferral.__table__.c.id)  # type: ignore[attr-defined]
    )
    return (await session.execute(stmt)).first() is not None


async def open_referrals(session: AsyncSession, account_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """The open referral of each of these accounts that has one, locked for its recall."""
    return (
        await session.execute(
            text(
                "SELECT id, account_id, agency, referred_at FROM collections_referrals "
                "WHERE account_id = ANY(:a) AND recalled_at IS NULL ORDER BY account_id FOR UPDATE"
            ),
            {"a": list(account_ids)},
        )
    ).all()


async def recall(
    session: AsyncSession, referral_id: uuid.UUID, reason: str, amount: Decimal | None, at: datetime
) -> None:
    await session.execute(
        text(
            "UPDATE collections_referrals SET recalled_at = :at, recall_reason = :r, recall_amount = :m "
            "WHERE id = :id"
        ),
        {"at": at, "r": reason, "m": amount, "id": referral_id},
    )


async def latest_referral(session: AsyncSession, account_id: str) -> Row[Any] | None:
    return (
        await session.execute(
            text(
                "SELECT * FROM collections_referrals WHERE account_id = :a "
                "ORDER BY referred_at DESC, id DESC LIMIT 1"
            ),
            {"a": account_id},
        )
    ).first()


def _within(column: Any, dates: DateRange) -> ColumnElement[bool]:
    """`column` (a moment) falls on a day of the range, in UTC (either end open)."""
    conditions = [column.is_not(None)]
    if dates.date_from is not None:
        conditions.append(column >= datetime.combine(dates.date_from, time.min, UTC))
    if dates.date_to is not None:
        conditions.append(column < datetime.combine(dates.date_to + timedelta(days=1), time.min, UTC))
    return and_(*conditions)


async def export_page(
    session: AsyncSession, dates: DateRange, page: PageQuery
) -> tuple[Sequence[CollectionsReferral], str | None]:
    """One page of the referrals an export covers (made or recalled in the range), oldest
    referral first, and the next page's cursor: one keyset pages both of its lists."""
    table = CollectionsReferral
    made, recalled = _within(col(table.referred_at), dates), _within(col(table.recalled_at), dates)
    stmt = select(table).where(or_(made, recalled))
    return await paginate(
        session,
        stmt,
        page,
        col(table.referred_at),
        col(table.id),
        key=lambda r: (r.referred_at, r.id),
        oldest_first=True,
    )


async def ledger_rows(session: AsyncSession, account_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """Every ledger row of these accounts but the bucket transfers (internal to the practice),
    in the order written: the itemized charges and payments."""
    return (
        await session.execute(
            text(
                "SELECT account_id, item_id, claim_id, entry_type, amount, description, service_date, "
                "occurred_at FROM ledger_entries WHERE account_id = ANY(:a) AND entry_type <> 'transfer' "
                "ORDER BY account_id, id"
            ),
            {"a": list(account_ids)},
        )
    ).all()


async def add_dispute(session: AsyncSession, dispute: AccountDispute) -> None:
    session.add(dispute)
    await session.flush()


async def open_dispute_of_source(session: AsyncSession, source_id: uuid.UUID) -> AccountDispute | None:
    """The open dispute a ticket opened, if any."""
    found = await session.execute(
        select(AccountDispute).where(
            col(AccountDispute.source_id) == source_id, col(AccountDispute.resolved_at).is_(None)
        )
    )
    return found.scalars().first()


async def disputes(session: AsyncSession, account_id: str) -> Sequence[Row[Any]]:
    return (
        await session.execute(
            text("SELECT * FROM account_disputes WHERE account_id = :a ORDER BY opened_at, id"),
            {"a": account_id},
        )
    ).all()


async def resolve_dispute(
    session: AsyncSession, account_id: str, dispute_id: uuid.UUID, by: str, resolution: str, at: datetime
) -> bool:
    found = await session.execute(
        text(
            "UPDATE account_disputes SET resolved_at = :at, resolved_by = :by, resolution = :r "
            "WHERE id = :id AND account_id = :a AND resolved_at IS NULL RETURNING id"
        ),
        {"at": at, "by": by, "r": resolution, "id": dispute_id, "a": account_id},
    )
    return found.first() is not None


async def disputed_accounts(session: AsyncSession, account_ids: Sequence[str] | None = None) -> set[str]:
    """Accounts with an open dispute (of these, or of all)."""
    rows = await session.execute(
        text(
            "SELECT DISTINCT account_id FROM account_disputes WHERE resolved_at IS NULL "
            "AND (CAST(:all AS boolean) OR account_id = ANY(:a))"
        ),
        {"all": account_ids is None, "a": list(account_ids or [])},
    )
    return {r.account_id for r in rows}
