"""The reconciliation report for a range of paid dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.reconciliation import store
from services.payments.reconciliation.domain import deposit
from services.payments.reconciliation.schemas import Reconciliation

ZERO = Decimal("0.00")


async def reconcile(session: AsyncSession, date_from: date, date_to: date) -> Reconciliation:
    """Each deposit in the range against what it posted, with totals and unapplied cash."""
    deposits = [deposit(r) for r in await store.remittances_paid(session, date_from, date_to)]
    return Reconciliation(
        date_from=date_from,
        date_to=date_to,
        deposits=deposits,
        deposit_total=sum((d.deposit for d in deposits), ZERO),
        posted_total=sum((d.posted for d in deposits), ZERO),
        unapplied_insurance=sum((d.unmatched for d in deposits), ZERO),
        unapplied_patient_credit=await store.unapplied_patient_credit(session),
        difference_total=sum((d.difference for d in deposits), ZERO),
    )
