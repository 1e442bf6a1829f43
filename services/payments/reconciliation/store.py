"""The reconciliation's SQL: matches (its own table), and reads of the bank deposits, the
remittances (835s), their parked claims, card payments and the ledger.

"Open" means without a current match (one not ended). An 835 is expected in the bank when
its BPR02 is not zero; its date is BPR16, or the day it was received when it has none."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, cast, exists, func, select, text
from sqlalchemy.types import Date, Text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.deposits.tables import bank_deposits
from services.payments.reconciliation.tables import deposit_matches
from services.payments.remittances.tables import remittances
from shared.bulk import insert_many
from shared.due import claim_due
from shared.paging import PageQuery, paginate

m, d, r = deposit_matches.c, bank_deposits.c, remittances.c
CURRENT = m.ended_at.is_(None)
DEPOSIT_OPEN = ~exists().where(m.deposit_id == d.id, CURRENT)
REMITTANCE_OPEN = ~exists().where(m.remittance_id == r.id, CURRENT)
SIGNED = "CASE WHEN r.credit_debit = 'D' THEN -r.amount ELSE r.amount END"
PAID_ON = "coalesce(r.paid_date, CAST(r.received_at AS date))"
# A deposit whose reference names an open 835 or card batch (what the worker retries).
MATCHABLE = text(
    "(bank_deposits.kind = 'eft' AND EXISTS (SELECT 1 FROM remittances r WHERE "
    "r.trace_number = bank_deposits.trace_number AND r.method <> 'check' AND r.amount <> 0 AND NOT EXISTS ("
    "SELECT 1 FROM deposit_matches x WHERE x.remittance_id = r.id AND x.ended_at IS NULL))) OR "
    "(bank_deposits.kind = 'check' AND EXISTS (SELECT 1 FROM remittances r WHERE r.method = 'check' "
    "AND r.amount <> 0 "
    "AND ltrim(r.trace_number, '0') = ltrim(bank_deposits.check_number, '0') AND NOT EXISTS ("
    "SELECT 1 FROM deposit_matches x WHERE x.remittance_id = r.id AND x.ended_at IS NULL))) OR "
    "(bank_deposits.kind = 'card' AND EXISTS (SELECT 1 FROM patient_payments p WHERE p.method = 'card' "
    "AND p.settlement_batch = bank_deposits.batch_id AND NOT EXISTS (SELECT 1 FROM deposit_matches x "
    "WHERE x.card_batch = p.settlement_batch AND x.ended_at IS NULL)))"
)


async def open_deposits(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Row[Any]]:
    """These deposits, those still open, in file order."""
    stmt = select(bank_deposits).where(d.id.in_(list(ids)), DEPOSIT_OPEN).order_by(d.created_at, d.record)
    return (await session.execute(stmt)).all()


async def claim_matchable(session: AsyncSession, limit: int) -> Sequence[Row[Any]]:
    """Open deposits whose reference names an open 835 or batch, oldest first, locked (SKIP
    LOCKED: replicas share the work)."""
    return await claim_due(
        session, bank_deposits, due=and_(DEPOSIT_OPEN, MATCHABLE), order_by=[d.created_at, d.id], limit=limit
    )


async def open_remittances(
    session: AsyncSession, traces: Sequence[str], checks: Sequence[str]
) -> Sequence[Row[Any]]:
    """Open 835s paying money whose TRN02 is one of `traces`, or (checks) one of `checks`
    without leading zeros: id, trace, TRN03, method, signed BPR02."""
    rows = await session.execute(
        text(
            "SELECT r.id, r.trace_number, r.trace_originator, r.method, "
            "CASE WHEN r.credit_debit = 'D' THEN -r.amount ELSE r.amount END AS amount "
            "FROM remittances r WHERE r.amount <> 0 AND (r.trace_number = ANY(:traces) "
            "OR (r.method = 'check' AND ltrim(r.trace_number, '0') = ANY(:checks))) AND NOT EXISTS ("
            "SELECT 1 FROM deposit_matches x WHERE x.remittance_id = r.id AND x.ended_at IS NULL)"
        ),
        {"traces": list(traces), "checks": list(checks)},
    )
    return rows.all()


async def open_batches(session: AsyncSession, batch_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """Open card settlement batches among `batch_ids`: (batch_id, the sum of its card payments)."""
    rows = await session.execute(
        text(
            "SELECT p.settlement_batch AS batch_id, sum(p.amount) AS amount FROM patient_payments p "
            "WHERE p.method = 'card' AND p.settlement_batch = ANY(:batches) AND NOT EXISTS ("
            "SELECT 1 FROM deposit_matches x WHERE x.card_batch = p.settlement_batch AND x.ended_at IS NULL) "
            "GROUP BY p.settlement_batch"
        ),
        {"batches": list(batch_ids)},
    )
    return rows.all()


async def batch_total(session: AsyncSession, batch_id: str) -> Decimal | None:
    """What a card batch's payments sum to; None when there is no such batch."""
    total = (
        await session.execute(
            text("SELECT sum(amount) FROM patient_payments WHERE method = 'card' AND settlement_batch = :b"),
            {"b": batch_id},
        )
    ).scalar_one()
    return None if total is None else Decimal(total)


async def remittance_amount(session: AsyncSession, remittance_id: uuid.UUID) -> Decimal | None:
    """An 835's signed BPR02; None when there is no such remittance."""
    amount = (
        await session.execute(
            text(
                "SELECT CASE WHEN r.credit_debit = 'D' THEN -r.amount ELSE r.amount END "
                "FROM remittances r WHERE r.id = :id"
            ),
            {"id": remittance_id},
        )
    ).scalar_one_or_none()
    return None if amount is None else Decimal(amount)


async def ended_pairs(session: AsyncSession, deposit_ids: Sequence[uuid.UUID]) -> set[tuple[uuid.UUID, str]]:
    """(deposit, remittance id or batch) pairs that were matched once and unmatched."""
    rows = await session.execute(
        select(m.deposit_id, func.coalesce(cast(m.remittance_id, Text), m.card_batch)).where(
            m.deposit_id.in_(list(deposit_ids)), m.ended_at.is_not(None)
        )
    )
    return {(row[0], str(row[1])) for row in rows}


async def insert_matches(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert matches, skipping any that a concurrent match got first (the unique current
    match per deposit, remittance and batch); returns how many were inserted."""
    return len(await insert_many(session, deposit_matches, rows, on_conflict=[], returning=["id"]))


async def lock_deposit(session: AsyncSession, deposit_id: uuid.UUID) -> Row[Any] | None:
    stmt = select(bank_deposits).where(d.id == deposit_id).with_for_update()
    return (await session.execute(stmt)).first()


async def current_match(session: AsyncSession, deposit_id: uuid.UUID) -> Row[Any] | None:
    stmt = select(deposit_matches).where(m.deposit_id == deposit_id, CURRENT)
    return (await session.execute(stmt)).first()


async def current_matches(session: AsyncSession, deposit_ids: Sequence[uuid.UUID]) -> Sequence[Row[Any]]:
    stmt = select(deposit_matches).where(m.deposit_id.in_(list(deposit_ids)), CURRENT)
    return (await session.execute(stmt)).all()


async def target_taken(session: AsyncSession, remittance_id: uuid.UUID | None, batch: str | None) -> bool:
    """Whether the 835 or batch has a current match."""
    target = m.remittance_id == remittance_id if remittance_id is not None else m.card_batch == batch
    return (await session.execute(select(exists().where(target, CURRENT)))).scalar_one()


async def end_match(
    session: AsyncSession, match_id: uuid.UUID, *, by: str, reason: str, at: datetime
) -> None:
    await session.execute(
        deposit_matches.update()
        .where(m.id == match_id, CURRENT)
        .values(ended_at=at, ended_by=by, end_reason=reason)
    )


async def matches_in_range(
    session: AsyncSession, date_from: date, date_to: date, status: str, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """One page of the current matches of `status` ('matched' or 'discrepancy') of the range's
    deposits, with the 835's payer, TRN02 and BPR16, in the order the deposits were imported
    (keyset on the deposit's (created_at, id): a deposit has one current match)."""
    stmt = (
        select(
            deposit_matches,
            d.bank_date,
            d.kind,
            d.created_at.label("deposit_created_at"),
            r.payer_id,
            r.trace_number,
            r.paid_date,
        )
        .join(bank_deposits, d.id == m.deposit_id)
        .outerjoin(remittances, r.id == m.remittance_id)
        .where(CURRENT, m.status == status, d.bank_date.between(date_from, date_to))
    )
    return await paginate(
        session,
        stmt,
        page,
        d.created_at,
        d.id,
        key=lambda x: (x.deposit_created_at, x.deposit_id),
        oldest_first=True,
    )


async def unmatched_deposits(
    session: AsyncSession, date_from: date, date_to: date, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """One page of the range's open deposits, in the order they were imported."""
    stmt = select(bank_deposits).where(d.bank_date.between(date_from, date_to), DEPOSIT_OPEN)
    return await paginate(session, stmt, page, d.created_at, d.id, oldest_first=True)


async def unmatched_remittances(
    session: AsyncSession, date_from: date, date_to: date, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """One page of the range's open 835s paying money, in the order they were received."""
    paid_on = func.coalesce(r.paid_date, cast(r.received_at, Date))
    stmt = select(remittances).where(paid_on.between(date_from, date_to), r.amount != 0, REMITTANCE_OPEN)
    return await paginate(
        session, stmt, page, r.received_at, r.id, key=lambda x: (x.received_at, x.id), oldest_first=True
    )


TOTALS = f"""
WITH dep AS (
    SELECT dp.amount, mt.status, mt.expected_amount FROM bank_deposits dp
    LEFT JOIN deposit_matches mt ON mt.deposit_id = dp.id AND mt.ended_at IS NULL
    WHERE dp.bank_date BETWEEN :f AND :t
), rem AS (
    SELECT r.id, r.amount AS bpr02, {SIGNED} AS amount, EXISTS (SELECT 1 FROM deposit_matches x
        WHERE x.remittance_id = r.id AND x.ended_at IS NULL) AS matched
    FROM remittances r WHERE {PAID_ON} BETWEEN :f AND :t
)
SELECT
    (SELECT count(*) FROM dep) AS deposit_count,
    (SELECT coalesce(sum(amount), 0) FROM dep) AS deposit_total,
    (SELECT count(*) FROM dep WHERE status = 'matched') AS matched_count,
    (SELECT coalesce(sum(amount), 0) FROM dep WHERE status = 'matched') AS matched_total,
    (SELECT count(*) FROM dep WHERE status = 'discrepancy') AS discrepancy_count,
    (SELECT coalesce(sum(amount - expected_amount), 0) FROM dep WHERE status = 'discrepancy')
        AS discrepancy_total,
    (SELECT count(*) FROM dep WHERE status IS NULL) AS unmatched_deposit_count,
    (SELECT coalesce(sum(amount), 0) FROM dep WHERE status IS NULL) AS unmatched_deposit_total,
    (SELECT count(*) FROM rem WHERE bpr02 <> 0) AS remittance_count,
    (SELECT coalesce(sum(amount), 0) FROM rem WHERE bpr02 <> 0) AS remittance_total,
    (SELECT count(*) FROM rem WHERE bpr02 <> 0 AND NOT matched) AS unmatched_remittance_count,
    (SELECT coalesce(sum(amount), 0) FROM rem WHERE bpr02 <> 0 AND NOT matched) AS unmatched_remittance_total,
    (SELECT coalesce(sum(u.paid), 0) FROM unmatched_claims u JOIN rem ON rem.id = u.remittance_id
        WHERE u.resolved_at IS NULL) AS unapplied_insurance
"""  # noqa: S608 (our own constants)


async def totals(session: AsyncSession, date_from: date, date_to: date) -> Row[Any]:
    """Counts and sums of the range's deposits and 835s, matched, discrepant and open."""
    return (await session.execute(text(TOTALS), {"f": date_from, "t": date_to})).one()


async def unapplied_patient_credit(session: AsyncSession) -> Decimal:
    """Patient payments less refunds not applied to any item (all accounts, all time)."""
    credit = (
        await session.execute(
            text(
                "SELECT coalesce(-sum(amount), 0) FROM ledger_entries WHERE "
                "item_id IS NULL AND entry_type IN ('payment', 'refund')"
            )
        )
    ).scalar_one()
    return Decimal(credit)
