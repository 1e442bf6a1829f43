"""The collections report, summed from the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.reports import store
from services.payments.reports.domain import BUCKETS, bucket_of, net_collection_rate
from services.payments.reports.schemas import Bucket, Collections, InsuranceAr, PayerAr


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


async def insurance_ar(session: AsyncSession, as_of: date, account_id: str | None = None) -> InsuranceAr:
    """Insurance A/R per payer at the end of `as_of` (of one account, if given), aged from each
    claim's date of service."""
    payers: dict[str, PayerAr] = {}
    total = Bucket()
    for payer_id, dos, balance in await store.insurance_by_claim(session, as_of, account_id):
        entry = payers.setdefault(
            payer_id, PayerAr(payer_id=payer_id, buckets={b: Bucket() for b in BUCKETS}, total=Bucket())
        )
        for target in (entry.buckets[bucket_of(as_of, dos)], entry.total, total):
            target.claims += 1
            target.balance += balance
    return InsuranceAr(as_of=as_of, payers=sorted(payers.values(), key=lambda p: p.payer_id), total=total)
