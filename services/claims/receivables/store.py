"""All SQL on claims' A/R rows: writing them, a claim's balance and state, what a payment moved,
and the sums the A/R reports are made of."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.receivables.tables import ArEntry
from shared.bulk import insert_many

ZERO = Decimal("0.00")


async def insert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """A/R rows with one INSERT (ORM changes staged before are flushed first by the caller's reads)."""
    await insert_many(session, ArEntry.__table__, rows)  # type: ignore[attr-defined]


async def balances(session: AsyncSession, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """What each claim's payer owes now (claims without rows are absent)."""
    if not claim_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT claim_id, sum(amount) AS owed FROM ar_entries "
            "WHERE claim_id = ANY(:ids) GROUP BY claim_id"
        ),
        {"ids": list(claim_ids)},
    )
    return {r.claim_id: Decimal(r.owed) for r in rows}


async def state(session: AsyncSession, claim_id: uuid.UUID) -> Row[Any]:
    """(owed, retired, rows, worked) of a claim: its balance, whether a corrected or void claim
    retired it, how many rows it has, and what payments worked off as denials."""
    return (
        await session.execute(
            text(
                "SELECT coalesce(sum(amount), 0) AS owed, "
                "count(*) FILTER (WHERE kind = 'retired') > 0 AS retired, count(*) AS rows, "
                "coalesce(-sum(amount) FILTER (WHERE kind IN ('written_off', 'billed_patient')), 0) "
                "AS worked FROM ar_entries WHERE claim_id = :c"
            ),
            {"c": claim_id},
        )
    ).one()


async def payment_rows(
    session: AsyncSession, claim_id: uuid.UUID, payment_id: uuid.UUID
) -> Sequence[Row[Any]]:
    """The rows one payment.posted wrote on the claim, in order (what its reversal negates)."""
    rows = await session.execute(
        text(
            "SELECT kind, amount, to_patient, group_code, reason_code FROM ar_entries "
            "WHERE claim_id = :c AND payment_id = :p AND kind <> 'retired' ORDER BY id"
        ),
        {"c": claim_id, "p": payment_id},
    )
    return rows.all()


async def cost_sharing_moved(
    session: AsyncSession, claim_ids: Sequence[uuid.UUID | None]
) -> dict[uuid.UUID, Decimal]:
    """Per claim, what its payers' adjudications gave the patient (net of reversals): what the
    next payer's claim is billed for (payments sums its ledger's transfers the same way)."""
    ids = [i for i in claim_ids if i is not None]
    if not ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT claim_id, sum(to_patient) AS moved FROM ar_entries WHERE claim_id = ANY(:ids) "
            "AND kind = 'transfer' AND payment_id IS NOT NULL GROUP BY claim_id"
        ),
        {"ids": ids},
    )
    return {r.claim_id: Decimal(r.moved) for r in rows}


async def by_claim(session: AsyncSession, as_of: date, patient_id: str | None) -> Sequence[Row[Any]]:
    """(payer_id, date_of_service, balance) of every claim (of one patient, if given) its payer
    owes something on at the end of `as_of` (rows recorded by then)."""
    return (
        await session.execute(
            text(
                "SELECT c.payer_id, c.date_of_service, sum(e.amount) AS balance FROM ar_entries e "
                "JOIN claims c ON c.id = e.claim_id WHERE e.recorded_at < :end "
                "AND (CAST(:patient AS text) IS NULL OR c.patient_id = :patient) "
                "GROUP BY e.claim_id, c.payer_id, c.date_of_service HAVING sum(e.amount) <> 0"
            ),
            {"end": as_of + timedelta(days=1), "patient": patient_id},
        )
    ).all()


async def open_total(session: AsyncSession, payer_id: str | None) -> Decimal:
    """What the payers (or one payer) owe now, all claims: the sum of every A/R row, as the
    trigger on ar_entries keeps it in ar_open_totals (a few rows per payer, not millions)."""
    owed = (
        await session.execute(
            text(
                "SELECT coalesce(sum(owed), 0) FROM ar_open_totals "
                "WHERE CAST(:payer AS text) IS NULL OR payer_id = :payer"
            ),
            {"payer": payer_id},
        )
    ).scalar_one()
    return Decimal(owed)
