"""The collections report, summed from the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.institutional.domain import CLAIM_TYPES, claim_type_of, split_by_type
from services.payments.reports import store
from services.payments.reports.domain import BUCKETS, bucket_of, net_collection_rate
from services.payments.reports.schemas import Bucket, ClaimTypeCollections, Collections, InsuranceAr, PayerAr

SUM_FIELDS = ("charges", "contractual", "other", "insurance", "patient", "refunds", "transferred")


async def collections(session: AsyncSession, start: date, end: date) -> Collections:
    """What was charged, adjusted, paid and refunded from `start` through `end`, the net
    collection rate, and the open receivables now: in all, and for professional and
    institutional claims apart (by the claim copy's type; money of no claim is in the totals only)."""
    sums = await store.collection_sums(session, start, end)
    ar = await store.receivables(session)
    by_type = split_by_type(sums, SUM_FIELDS)
    ar_by_type = split_by_type(ar, ("insurance", "patient"))
    total = {name: sum((Decimal(getattr(r, name)) for r in sums), Decimal("0.00")) for name in SUM_FIELDS}
    ar_total = {
        name: sum((Decimal(getattr(r, name)) for r in ar), Decimal("0.00"))
        for name in ("insurance", "patient")
    }
    return Collections(
        date_from=start,
        date_to=end,
        **_figures(total, ar_total),
        by_claim_type={t: ClaimTypeCollections(**_figures(by_type[t], ar_by_type[t])) for t in by_type},
    )


def _figures(row: dict[str, Decimal], ar: dict[str, Decimal]) -> dict[str, Any]:
    return {
        "charges": row["charges"],
        "contractual_adjustments": row["contractual"],
        "other_adjustments": row["other"],
        "insurance_payments": row["insurance"],
        "patient_payments": row["patient"],
        "refunds": row["refunds"],
        "transferred_to_patient": row["transferred"],
        "net_collection_rate": net_collection_rate(
            charges=row["charges"],
            contractual=row["contractual"],
            insurance=row["insurance"],
            patient=row["patient"],
            refunds=row["refunds"],
        ),
        "insurance_ar": ar["insurance"],
        "patient_ar": ar["patient"],
    }


async def insurance_ar(session: AsyncSession, as_of: date, account_id: str | None = None) -> InsuranceAr:
    """Insurance A/R per payer at the end of `as_of` (of one account, if given), aged from each
    claim's date of service."""
    payers: dict[str, PayerAr] = {}
    total = Bucket()
    by_type = {t: Bucket() for t in CLAIM_TYPES}
    for payer_id, dos, claim_type, balance in await store.insurance_by_claim(session, as_of, account_id):
        entry = payers.setdefault(
            payer_id, PayerAr(payer_id=payer_id, buckets={b: Bucket() for b in BUCKETS}, total=Bucket())
        )
        kind = by_type[claim_type_of(claim_type)]
        for target in (entry.buckets[bucket_of(as_of, dos)], entry.total, total, kind):
            target.claims += 1
            target.balance += balance
    payers_sorted = sorted(payers.values(), key=lambda p: p.payer_id)
    return InsuranceAr(as_of=as_of, payers=payers_sorted, total=total, by_claim_type=by_type)
