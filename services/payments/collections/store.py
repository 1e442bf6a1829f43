"""All of the collections SQL: referrals and their recall, disputes, and what the export
reads and audits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.collections.tables import AccountDispute, CollectionsReferral


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


async def referrals(
    session: AsyncSession, date_from: date | None, date_to: date | None
) -> Sequence[Row[Any]]:
    """Referrals made from `date_from` through `date_to` (either end open), oldest first."""
    return (
        await session.execute(
            text(
                "SELECT * FROM collections_referrals "
                "WHERE (CAST(:f AS date) IS NULL OR referred_at >= :f) "
                "AND (CAST(:t AS date) IS NULL OR referred_at < CAST(:t AS date) + 1) "
                "ORDER BY referred_at, account_id"
            ),
            {"f": date_from, "t": date_to},
        )
    ).all()


async def recalls(session: AsyncSession, date_from: date | None, date_to: date | None) -> Sequence[Row[Any]]:
    """Referrals recalled from `date_from` through `date_to` (either end open), oldest first."""
    return (
        await session.execute(
            text(
                "SELECT * FROM collections_referrals WHERE recalled_at IS NOT NULL "
                "AND (CAST(:f AS date) IS NULL OR recalled_at >= :f) "
                "AND (CAST(:t AS date) IS NULL OR recalled_at < CAST(:t AS date) + 1) "
                "ORDER BY recalled_at, account_id"
            ),
            {"f": date_from, "t": date_to},
        )
    ).all()


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
