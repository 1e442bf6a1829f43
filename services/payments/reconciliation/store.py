"""The reconciliation's SQL. It owns no table: it reads the remittance side's remittances,
claim postings and unmatched claims, and the accounts' ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession


async def remittances_paid(session: AsyncSession, date_from: date, date_to: date) -> Sequence[Row[Any]]:
    """Per remittance paid in the range: its signed deposit, PLB total, what its matched
    claims posted and what its claims still unmatched paid; by paid date and trace."""
    return (
        await session.execute(
            text(
                "SELECT r.id, r.payer_id, r.trace_number, r.paid_date, r.method, "
                "CASE WHEN r.credit_debit = 'D' THEN -r.amount ELSE r.amount "
                "END AS deposit, r.provider_adjustments, "
                "coalesce((SELECT sum(paid) FROM claim_postings p WHERE "
                "p.remittance_id = r.id), 0) AS claims_posted, "
                "coalesce((SELECT sum(paid) FROM unmatched_claims u WHERE u.remittance_id = r.id "
                "AND u.resolved_at IS NULL), 0) AS unmatched "
                "FROM remittances r WHERE r.paid_date BETWEEN :f AND :t ORDER BY r.paid_date, r.trace_number"
            ),
            {"f": date_from, "t": date_to},
        )
    ).all()


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
