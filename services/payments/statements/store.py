"""All of the statements' SQL: what the ledger says per item, who owes, issuing, reading,
and the past-due statements the plan cycle acts on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.statements.tables import Statement
from shared.due import claim_due


async def item_sums(session: AsyncSession, account_id: str) -> Sequence[Row[Any]]:
    """Per item (and unapplied money) the patient owes on: charges, insurance paid,
    adjustments, patient paid and due, oldest service date first."""
    return (
        await session.execute(
            text(
                "SELECT item_id, min(service_date) AS service_date, "
                "min(description) FILTER (WHERE entry_type = 'charge') AS description, "
                "coalesce(sum(amount) FILTER (WHERE entry_type = 'charge'), 0) AS charges, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type = "
                "'insurance_payment'), 0) AS insurance_paid, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type = 'adjustment'), 0) AS adjustments, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type IN "
                "('payment', 'refund')), 0) AS patient_paid, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS due "
                "FROM ledger_entries WHERE account_id = :a GROUP BY item_id "
                "HAVING coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) <> 0 "
                "ORDER BY min(service_date) NULLS LAST, min(id)"
            ),
            {"a": account_id},
        )
    ).all()


async def owing_accounts(session: AsyncSession, account_id: str | None) -> Sequence[Row[Any]]:
    """(account_id, due) of every account whose patient balance is positive (or just the one)."""
    return (
        await session.execute(
            text(
                "SELECT account_id, sum(amount) AS due FROM ledger_entries WHERE bucket = 'patient' "
                "AND (CAST(:a AS text) IS NULL OR account_id = :a) GROUP BY account_id HAVING sum(amount) > 0"
            ),
            {"a": account_id},
        )
    ).all()


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


# A statement is late for the cycle when it is its account's oldest, past due, the account
# owes on its patient balance, has no active plan and was not referred to collections.
_LATE = (
    "statements.due_date < :as_of "
    "AND NOT EXISTS (SELECT 1 FROM statements o WHERE o.account_id = statements.account_id "
    "AND (o.due_date, o.id) < (statements.due_date, statements.id)) "
    "AND NOT EXISTS (SELECT 1 FROM payment_plans p WHERE p.account_id = statements.account_id "
    "AND p.status = 'active') "
    "AND NOT EXISTS (SELECT 1 FROM collections_referrals c WHERE c.account_id = statements.account_id) "
    "AND (SELECT sum(l.amount) FROM ledger_entries l WHERE l.account_id = statements.account_id "
    "AND l.bucket = 'patient') > 0"
)


async def claim_late(session: AsyncSession, as_of: date, now: datetime, limit: int) -> Sequence[Row[Any]]:
    """Take up to `limit` late statements not yet notified and mark them notified at `now`,
    in one statement (SKIP LOCKED: each late notice goes out once, whichever replica runs).
    (id, account_id, due_date), by account."""
    table = Statement.__table__  # type: ignore[attr-defined]
    return await claim_due(
        session,
        Statement,
        due=and_(table.c.late_notified_at.is_(None), text(_LATE).bindparams(as_of=as_of)),
        order_by=[table.c.account_id, table.c.due_date],
        limit=limit,
        values={"late_notified_at": now},
        returning=[table.c.id, table.c.account_id, table.c.due_date],
    )


async def late_accounts(session: AsyncSession, as_of: date) -> Sequence[Row[Any]]:
    """(account_id, due_date of its oldest statement) of every account whose statement is late
    on `as_of` (notified or not), for the collections policy."""
    return (
        await session.execute(
            text(
                "SELECT statements.account_id, statements.due_date FROM statements WHERE "  # noqa: S608 (our own text)
                + _LATE
                + " ORDER BY statements.account_id"
            ),
            {"as_of": as_of},
        )
    ).all()
