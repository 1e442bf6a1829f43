"""The reports' SQL: sums over the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.reports.domain import CONTRACTUAL

# The claim a ledger row belongs to (a claim's rows carry claim_id; money applied to its item, item_id).
_CLAIM_TYPE = "LEFT JOIN claim_copies c ON c.claim_id = coalesce(l.claim_id, l.item_id) "


async def collection_sums(session: AsyncSession, start: date, end: date) -> Sequence[Row[Any]]:
    """Charges, adjustments (contractual and other), payments, refunds and transfers over
    ledger rows written from `start` through `end` (inclusive days), one row per claim type
    (`claim_type` of the claim copy; NULL for money of no claim, e.g. a self-pay charge)."""
    return (
        await session.execute(
            text(
                """
                SELECT
                  coalesce(sum(amount) FILTER (WHERE entry_type = 'charge'), 0) AS charges,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'adjustment'
                      AND group_code = 'CO' AND reason_code = ANY(:contractual)), 0) AS contractual,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'adjustment'
                      AND NOT (coalesce(group_code, '') = 'CO'
                               AND coalesce(reason_code, '') = ANY(:contractual))), 0) AS other,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'insurance_payment'), 0) AS insurance,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'payment'), 0) AS patient,
                  coalesce(sum(amount) FILTER (WHERE entry_type = 'refund'), 0) AS refunds,
                  coalesce(sum(amount) FILTER (WHERE entry_type = 'transfer' AND bucket = 'patient'), 0)
                      AS transferred
                  , c.claim_type
                FROM ledger_entries l """
                + _CLAIM_TYPE
                + "WHERE l.occurred_at >= :start AND l.occurred_at < :end GROUP BY c.claim_type"
            ),
            {"start": start, "end": end + timedelta(days=1), "contractual": list(CONTRACTUAL)},
        )
    ).all()


async def receivables(session: AsyncSession) -> Sequence[Row[Any]]:
    """(insurance, patient, claim_type): what is open now with payers and with patients, per
    claim type (NULL: money of no claim)."""
    return (
        await session.execute(
            text(
                "SELECT coalesce(sum(l.amount) FILTER (WHERE l.bucket = 'insurance'), 0) AS insurance, "
                "coalesce(sum(l.amount) FILTER (WHERE l.bucket = 'patient'), 0) AS patient, c.claim_type "
                "FROM ledger_entries l " + _CLAIM_TYPE + "GROUP BY c.claim_type"
            )
        )
    ).all()


async def insurance_by_claim(
    session: AsyncSession, as_of: date, account_id: str | None
) -> Sequence[Row[Any]]:
    """(payer_id, date_of_service, claim_type, balance) of every claim (of one account, if given) with
    insurance money open at the end of `as_of`: its insurance-bucket ledger rows written by
    then, by the payer of the claim."""
    return (
        await session.execute(
            text(
                "SELECT c.payer_id, c.date_of_service, c.claim_type, sum(l.amount) AS balance "
                "FROM ledger_entries l "
                "JOIN claim_copies c ON c.claim_id = l.claim_id "
                "WHERE l.bucket = 'insurance' AND l.occurred_at < :end "
                "AND (CAST(:account AS text) IS NULL OR l.account_id = :account) "
                "GROUP BY l.claim_id, c.payer_id, c.date_of_service, c.claim_type HAVING sum(l.amount) <> 0"
            ),
            {"end": as_of + timedelta(days=1), "account": account_id},
        )
    ).all()
