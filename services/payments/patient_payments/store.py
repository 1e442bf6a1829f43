"""All of the patient-payments SQL: payments, refunds, and what of a payment the ledger
says is still applied."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, insert, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.patient_payments.domain import Split
from services.payments.patient_payments.tables import PatientPayment, Refund


async def add_payment(session: AsyncSession, payment: PatientPayment) -> None:
    """Insert the payment now (its ledger rows and refunds refer to it)."""
    session.add(payment)
    await session.flush()


async def get_payment(session: AsyncSession, payment_id: uuid.UUID) -> PatientPayment | None:
    return await session.get(PatientPayment, payment_id)


async def applied(session: AsyncSession, payment_id: uuid.UUID) -> Split:
    """What of the payment is still applied, per item (payments less refunds), most
    recently applied first."""
    rows = (
        await session.execute(
            text(
                "SELECT item_id, -sum(amount) AS applied, max(id) AS last FROM ledger_entries "
                "WHERE payment_id = :p GROUP BY item_id"
            ),
            {"p": payment_id},
        )
    ).all()
    ordered = sorted(rows, key=lambda r: -r.last)
    return [(r.item_id, Decimal(r.applied)) for r in ordered if Decimal(r.applied) != 0]


async def refunds(session: AsyncSession, payment_id: uuid.UUID) -> Sequence[Row[Any]]:
    """The payment's refunds, oldest first."""
    return (
        await session.execute(
            text(
                "SELECT id, amount, reason, refunded_at FROM refunds "
                "WHERE payment_id = :p ORDER BY refunded_at"
            ),
            {"p": payment_id},
        )
    ).all()


async def add_refund(session: AsyncSession, **values: Any) -> None:
    """Insert one refund row (id, payment_id, amount, reason, refunded_by, refunded_at)."""
    await session.execute(insert(Refund.__table__).values(**values))  # type: ignore[attr-defined]
