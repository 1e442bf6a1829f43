"""The collections report, summed from the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.reports import store
from services.payments.reports.domain import net_collection_rate
from services.payments.reports.schemas import Collections


async def collections(session: AsyncSession, start: date, end: date) -> Collections:
    """What was charged, adjusted, paid and refunded from `start` through `end`, the net
    collection rate, and the open receivables now."""
    row = await store.collection_sums(session, start, end)
    ar = await store.receivables(session)
    return Collections(
        date_from=start,
        date_to=end,
        charges=row.charges,
        contractual_adjustments=row.contractual,
        other_adjustments=row.other,
        insurance_payments=row.insurance,
        patient_payments=row.patient,
        refunds=row.refunds,
        transferred_to_patient=row.transferred,
        net_collection_rate=net_collection_rate(
            charges=Decimal(row.charges),
            contractual=Decimal(row.contractual),
            insurance=Decimal(row.insurance),
            patient=Decimal(row.patient),
            refunds=Decimal(row.refunds),
        ),
        insurance_ar=ar.insurance,
        patient_ar=ar.patient,
    )
