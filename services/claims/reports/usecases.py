"""Billing-office measures from the claims and denials tables: A/R aging per payer and the
KPIs (clean-claim rate, first-pass resolution, denial rates, days in A/R)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.receivables import store as receivables
from services.claims.reports import store
from services.claims.reports.schemas import Aging, Bucket, ClaimTypeKpis, Kpis, PayerAging, Rate
from shared.events.institutional import CLAIM_TYPES
from shared.paging import DateRange
from shared.problems import invalid

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")


def bucket_of(age_days: int) -> str:
    if age_days <= 30:
        return "0-30"
    if age_days <= 60:
        return "31-60"
    if age_days <= 90:
        return "61-90"
    if age_days <= 120:
        return "91-120"
    return "120+"


def rate(n: int, d: int) -> Rate:
    return Rate(numerator=n, denominator=d, rate=round(n / d, 4) if d else None)


async def ar_aging(session: AsyncSession, day: date, patient_id: str | None = None) -> Aging:
    """What each payer owes at the end of `day` (of one patient's claims, if given), by claim,
    aged from its date of service: claims' A/R rows, which mirror payments' insurance ledger
    (so payments' GET /v1/reports/insurance-ar gives the same totals)."""
    per: dict[str, PayerAging] = {}
    total = Bucket()
    for payer_id, dos, balance in await receivables.by_claim(session, day, patient_id):
        entry = per.setdefault(
            payer_id, PayerAging(payer_id=payer_id, buckets={b: Bucket() for b in BUCKETS}, total=Bucket())
        )
        b = entry.buckets[bucket_of((day - dos).days)]
        for target in (b, entry.total, total):
            target.claims += 1
            target.balance += balance
    return Aging(as_of=day, payers=sorted(per.values(), key=lambda p: p.payer_id), total=total)


async def kpis(
    session: AsyncSession, dates: DateRange, payer_id: str | None, by_claim_type: bool = False
) -> Kpis:
    """Over claims created in the range (default: the 90 days up to today): clean = no error
    edit on the first scrub; first pass = paid on the first submission with no rejection or
    denial; denial rate = adjudicated claims with a denial; days in A/R = open balance ÷
    average daily charges of the range. With `by_claim_type`, the same per claim type too."""
    end = dates.date_to or date.today()
    start = dates.date_from or end - timedelta(days=90)
    if start > end:
        raise invalid(("query.date_from", "range", "date_from must not be after date_to."))
    counts, denials = await store.kpi_counts(session, start, end, payer_id)
    open_ar = await receivables.open_total(session, payer_id)
    fields = ("created", "scrubbed", "clean", "adjudicated", "submitted", "first_pass", "charges")
    row = SimpleNamespace(**{f: sum((getattr(c, f) for c in counts), 0) for f in fields})
    by_status: dict[str, int] = {}
    adjudicated_by_payer: dict[str, int] = {}
    for c in counts:
        by_status[c.status] = by_status.get(c.status, 0) + c.created
        adjudicated_by_payer[c.payer_id] = adjudicated_by_payer.get(c.payer_id, 0) + c.adjudicated
    denied_claims = 0
    by_reason: dict[str, int] = {}
    by_payer: dict[str, int] = {}
    for d in denials:
        if d.everything:
            denied_claims = d.claims
            continue
        by_reason[d.reason_code] = by_reason.get(d.reason_code, 0) + d.claims
        by_payer[d.payer_id] = by_payer.get(d.payer_id, 0) + d.claims
    days = (end - start).days + 1
    daily = Decimal(row.charges) / days if days else Decimal(0)
    return Kpis(
        date_from=start,
        date_to=end,
        claims_created=row.created,
        clean_claim_rate=rate(row.clean, row.scrubbed),
        first_pass_resolution_rate=rate(row.first_pass, row.adjudicated),
        denial_rate=rate(denied_claims, row.adjudicated),
        denial_rate_by_reason={r: rate(n, row.adjudicated) for r, n in sorted(by_reason.items())},
        denial_rate_by_payer={
            p: rate(n, adjudicated_by_payer.get(p, 0)) for p, n in sorted(by_payer.items())
        },
        days_in_ar=round(float(open_ar / daily), 1) if daily else None,
        open_ar=open_ar,
        claims_submitted=row.submitted,
        claims_by_status=dict(sorted(by_status.items())),
        by_claim_type=await _by_claim_type(session, start, end, payer_id) if by_claim_type else None,
    )


async def _by_claim_type(
    session: AsyncSession, start: date, end: date, payer_id: str | None
) -> dict[str, ClaimTypeKpis]:
    """Professional and institutional (both always present, zero when none), each over its own
    claims by the totals' definitions: what a hospital's billing office and a practice's read
    separately, since an inpatient stay's charge dwarfs an office visit's."""
    counts, denials = await store.kpi_counts_by_claim_type(session, start, end, payer_id)
    fields = ("created", "scrubbed", "clean", "adjudicated", "submitted", "first_pass", "charges")
    sums = {t: dict.fromkeys(fields, 0) for t in CLAIM_TYPES}
    statuses: dict[str, dict[str, int]] = {t: {} for t in CLAIM_TYPES}
    for c in counts:
        part = sums.setdefault(c.claim_type, dict.fromkeys(fields, 0))
        for f in fields:
            part[f] += getattr(c, f)
        by_status = statuses.setdefault(c.claim_type, {})
        by_status[c.status] = by_status.get(c.status, 0) + c.created
    denied: dict[str, int] = {}
    by_reason: dict[str, dict[str, int]] = {}
    for d in denials:
        if d.everything:
            denied[d.claim_type] = d.claims
        else:
            by_reason.setdefault(d.claim_type, {})[d.reason_code] = d.claims
    return {
        t: ClaimTypeKpis(
            claims_created=s["created"],
            claims_submitted=s["submitted"],
            claims_by_status=dict(sorted(statuses[t].items())),
            charges=Decimal(s["charges"]),
            clean_claim_rate=rate(s["clean"], s["scrubbed"]),
            first_pass_resolution_rate=rate(s["first_pass"], s["adjudicated"]),
            denial_rate=rate(denied.get(t, 0), s["adjudicated"]),
            denial_rate_by_reason={
                r: rate(n, s["adjudicated"]) for r, n in sorted(by_reason.get(t, {}).items())
            },
        )
        for t, s in sums.items()
    }
