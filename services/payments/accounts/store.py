"""All of the ledger's SQL: writing rows, serialising writers per account, and the sums
that balances, open items and the ledger view are derived from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select, text
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts.domain import Entry, OpenItem
from services.payments.accounts.tables import LedgerEntry
from shared.bulk import insert_many
from shared.paging import PageQuery, paginate


async def one_snapshot(session: AsyncSession) -> None:
    """Make the session's next transaction read from one snapshot (REPEATABLE READ): a view
    built from several queries (the balance, then the assistance posted, then the holds) must
    not mix a state before a posting with one after it, as READ COMMITTED's per-statement
    snapshots did while the posting committed between two reads. No-op once a transaction runs
    (its isolation is fixed by then)."""
    if not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def append(
    session: AsyncSession,
    entries: list[Entry],
    now: datetime | None = None,
    *,
    times: list[datetime] | None = None,
) -> None:
    """Write entries with one INSERT, in the caller's transaction, all at `now`, or each at
    its own time from `times` (many remittances posted in one statement keep their own)."""
    if not entries:
        return
    if times is None:
        times = [now or datetime.now(UTC)] * len(entries)
    rows = [{**entry.__dict__, "occurred_at": at} for entry, at in zip(entries, times, strict=True)]
    await insert_many(session, LedgerEntry.__table__, rows)  # type: ignore[attr-defined]


async def lock_account(session: AsyncSession, account_id: str) -> None:
    """Serialise writers that allocate against open items of one account (payments,
    refunds), so two of them never spend the same open balance."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('payments-account'), hashtext(:a))"), {"a": account_id}
    )


async def open_items(session: AsyncSession, account_id: str) -> list[OpenItem]:
    """Items with money still owed, oldest service date first (the order payments apply in)."""
    rows = (
        await session.execute(
            text(
                "SELECT item_id, max(claim_id::text) AS claim_id, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS patient_due, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance_pending, "
                "min(service_date) AS service_date, min(id) AS first_id "
                "FROM ledger_entries WHERE account_id = :a AND item_id IS NOT NULL "
                "GROUP BY item_id HAVING sum(amount) <> 0 "
                "ORDER BY min(service_date) NULLS LAST, min(id)"
            ),
            {"a": account_id},
        )
    ).all()
    return [
        OpenItem(
            r.item_id,
            uuid.UUID(r.claim_id) if r.claim_id else None,
            Decimal(r.patient_due),
            Decimal(r.insurance_pending),
            r.service_date,
        )
        for r in rows
    ]


async def totals(session: AsyncSession, account_id: str) -> Row[Any]:
    """(balance, entries, insurance, patient, unapplied, refund_due) summed over the account's
    ledger; unapplied and refund_due are the (negative) sums of the rows without an item."""
    return (
        await session.execute(
            text(
                "SELECT coalesce(sum(amount), 0) AS balance, count(*) AS entries, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS patient, "
                "coalesce(sum(amount) FILTER (WHERE item_id IS NULL AND entry_type <> 'refund_due'), 0) "
                "AS unapplied, "
                "coalesce(sum(amount) FILTER (WHERE entry_type = 'refund_due'), 0) AS refund_due "
                "FROM ledger_entries WHERE account_id = :a"
            ),
            {"a": account_id},
        )
    ).one()


async def has_rows(session: AsyncSession, account_id: str) -> bool:
    """Whether the account has any ledger row (a charge, a claim's charges, a payment)."""
    found = await session.execute(
        text("SELECT 1 FROM ledger_entries WHERE account_id = :a LIMIT 1"), {"a": account_id}
    )
    return found.first() is not None


async def has_item(session: AsyncSession, account_id: str, item_id: uuid.UUID) -> bool:
    """Whether the item (a claim or charge) has rows on this account, open or settled."""
    found = await session.execute(
        text("SELECT 1 FROM ledger_entries WHERE account_id = :a AND item_id = :i LIMIT 1"),
        {"a": account_id, "i": item_id},
    )
    return found.first() is not None


async def credit_sources(
    session: AsyncSession, account_id: str, excluding: uuid.UUID
) -> list[tuple[uuid.UUID | None, Decimal]]:
    """The account's unapplied patient credit per payment it came from (None: credit with no
    payment), oldest first, leaving out one payment (the one being refunded) and refunds due
    (money owed back is not credit to spend)."""
    rows = (
        await session.execute(
            text(
                "SELECT payment_id, -sum(amount) AS credit FROM ledger_entries "
                "WHERE account_id = :a AND item_id IS NULL AND bucket = 'patient' "
                "AND entry_type <> 'refund_due' AND payment_id IS DISTINCT FROM :p "
                "GROUP BY payment_id HAVING sum(amount) < 0 ORDER BY min(id)"
            ),
            {"a": account_id, "p": excluding},
        )
    ).all()
    return [(r.payment_id, Decimal(r.credit)) for r in rows]


async def entries(
    session: AsyncSession, account_id: str, page: PageQuery
) -> tuple[Sequence[LedgerEntry], str | None]:
    """One page of the account's ledger in the order written (by id, on the (account_id, id)
    index), and the cursor of the next page."""
    stmt = select(LedgerEntry).where(col(LedgerEntry.account_id) == account_id)
    return await paginate(session, stmt, page, None, col(LedgerEntry.id), oldest_first=True)


async def balance(session: AsyncSession, account_id: str) -> Decimal:
    """The account's balance: the sum of its whole ledger."""
    total = await session.scalar(
        text("SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = :a"), {"a": account_id}
    )
    return Decimal(total)


async def item_totals(session: AsyncSession, item_id: uuid.UUID) -> tuple[Decimal, Decimal]:
    """(insurance, patient) open on one item."""
    row = (
        await session.execute(
            text(
                "SELECT coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS patient "
                "FROM ledger_entries WHERE item_id = :item"
            ),
            {"item": item_id},
        )
    ).one()
    return Decimal(row.insurance), Decimal(row.patient)
