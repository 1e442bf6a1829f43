"""All of the statements' SQL: what the ledger says per item, what each claim was (its
procedures and payer), who owes, issuing and reading statements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.statements.tables import Statement

# The patient's share moved over by an 835 (CAS group PR), by the CARC that says why.
_PR = "entry_type = 'transfer' AND bucket = 'patient' AND group_code = 'PR'"


async def item_sums(session: AsyncSession, account_id: str) -> Sequence[Row[Any]]:
    """Per item (and unapplied money) the patient owes on: charges, insurance paid,
    adjustments, the patient's share by reason (PR-1 deductible, PR-2 coinsurance, PR-3
    copay, other), patient paid, still with insurance, and due; oldest service date first."""
    return (
        await session.execute(
            text(
                "SELECT item_id, min(service_date) AS service_date, "  # noqa: S608 (constant text)
                "min(description) FILTER (WHERE entry_type = 'charge') AS description, "
                "coalesce(sum(amount) FILTER (WHERE entry_type = 'charge'), 0) AS charges, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type = "
                "'insurance_payment'), 0) AS insurance_paid, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type = 'adjustment'), 0) AS adjustments, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type IN "
                "('payment', 'refund')), 0) AS patient_paid, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance_pending, "
                f"coalesce(sum(amount) FILTER (WHERE {_PR} AND reason_code = '1'), 0) AS deductible, "
                f"coalesce(sum(amount) FILTER (WHERE {_PR} AND reason_code = '2'), 0) AS coinsurance, "
                f"coalesce(sum(amount) FILTER (WHERE {_PR} AND reason_code = '3'), 0) AS copay, "
                f"coalesce(sum(amount) FILTER (WHERE {_PR} AND reason_code NOT IN ('1', '2', '3')), 0) "
                "AS other_share, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS due "
                "FROM ledger_entries WHERE account_id = :a GROUP BY item_id "
                "HAVING coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) <> 0 "
                "ORDER BY min(service_date) NULLS LAST, min(id)"
            ),
            {"a": account_id},
        )
    ).all()


async def claims_of(session: AsyncSession, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Row[Any]]:
    """What payments' copy says of each claim: its lines (procedures) and its payer's name."""
    rows = (
        await session.execute(
            text(
                "SELECT c.claim_id, c.payer_id, coalesce(p.name, c.payer_id) AS payer_name, c.lines "
                "FROM claim_copies c LEFT JOIN payers p ON p.payer_id = c.payer_id "
                "WHERE c.claim_id = ANY(:ids)"
            ),
            {"ids": list(claim_ids)},
        )
    ).all()
    return {r.claim_id: r for r in rows}


async def owing_accounts(session: AsyncSession, account_id: str | None) -> Sequence[Row[Any]]:
    """(account_id, due, last_service_date) of every account whose patient balance is
    positive (or just the one); the last service date is the latest on an item it owes on."""
    return (
        await session.execute(
            text(
                "SELECT account_id, sum(amount) AS due, max(service_date) AS last_service_date "
                "FROM ledger_entries WHERE bucket = 'patient' "
                "AND (CAST(:a AS text) IS NULL OR account_id = :a) "
                "GROUP BY account_id HAVING sum(amount) > 0 "
                "ORDER BY account_id"
            ),
            {"a": account_id},
        )
    ).all()


async def last_service_dates(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, date | None]:
    """The latest date of service on each account's ledger (what a statement may not predate)."""
    rows = (
        await session.execute(
            text(
                "SELECT account_id, max(service_date) AS last FROM ledger_entries "
                "WHERE account_id = ANY(:a) GROUP BY account_id"
            ),
            {"a": list(account_ids)},
        )
    ).all()
    return {r.account_id: r.last for r in rows}


async def add_statement(session: AsyncSession, **values: Any) -> bool:
    """Issue a statement; False when the account already has one for that date."""
    stmt = (
        pg_insert(Statement.__table__)  # type: ignore[attr-defined]
        .values(**values)
        .on_conflict_do_nothing(index_elements=["account_id", "statement_date"])
        .returning(Statement.__table__.c.id)  # type: ignore[attr-defined]
    )
    return (await session.execute(stmt)).first() is not None


async def get_statement(session: AsyncSession, statement_id: uuid.UUID) -> Row[Any] | None:
    return (
        await session.execute(text("SELECT * FROM statements WHERE id = :id"), {"id": statement_id})
    ).first()
