"""Billing-office measures: A/R aging per payer and the KPIs (clean-claim rate, first-pass
resolution, denial rates, days in A/R), computed from the claims and denials tables."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import text

from services.claims import lifecycle
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import invalid

router = APIRouter(prefix="/v1/reports", tags=["reports"])
BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
# The KPIs' claims: created in [:start, :end] (dates), of :payer if given; as `claims`, as `c`.
_RANGE = (
    "{c}created_at >= :start AND {c}created_at < CAST(:end AS date) + 1 "
    "AND (CAST(:payer AS text) IS NULL OR {c}payer_id = :payer)"
)
_IN_RANGE, _C_IN_RANGE = _RANGE.format(c=""), _RANGE.format(c="c.")
_OPEN = "status IN ({})".format(", ".join(f"'{s}'" for s in lifecycle.OPEN_STATUSES))  # open A/R


class Bucket(BaseModel):
    claims: int = 0
    balance: Decimal = Decimal("0.00")


class PayerAging(BaseModel):
    payer_id: str
    buckets: dict[str, Bucket]
    total: Bucket


class Aging(BaseModel):
    as_of: date
    payers: list[PayerAging]
    total: Bucket


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


@router.get("/ar-aging", response_model=Aging, summary="Open A/R per payer in 0-30 ... 120+ day buckets")
async def ar_aging(
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("report", "ar_aging", require_scopes("claims:read"))],
    as_of: date | None = None,
) -> Aging:
    """Age counts from the date of service; the balance is what the payer has not paid yet."""
    day = as_of or date.today()
    rows = (
        await session.execute(
            text(
                "SELECT payer_id, date_of_service, total_charge - coalesce(paid_amount, 0) AS balance "  # noqa: S608
                f"FROM claims WHERE {_OPEN} "
                "AND date_of_service <= :day"
            ),
            {"day": day},
        )
    ).all()
    per: dict[str, PayerAging] = {}
    total = Bucket()
    for payer_id, dos, balance in rows:
        entry = per.setdefault(
            payer_id, PayerAging(payer_id=payer_id, buckets={b: Bucket() for b in BUCKETS}, total=Bucket())
        )
        b = entry.buckets[bucket_of((day - dos).days)]
        for target in (b, entry.total, total):
            target.claims += 1
            target.balance += balance
    return Aging(as_of=day, payers=sorted(per.values(), key=lambda p: p.payer_id), total=total)


class Rate(BaseModel):
    numerator: int
    denominator: int
    rate: float | None


def rate(n: int, d: int) -> Rate:
    return Rate(numerator=n, denominator=d, rate=round(n / d, 4) if d else None)


class Kpis(BaseModel):
    date_from: date
    date_to: date
    claims_created: int
    clean_claim_rate: Rate
    first_pass_resolution_rate: Rate
    denial_rate: Rate
    denial_rate_by_reason: dict[str, Rate]
    denial_rate_by_payer: dict[str, Rate]
    days_in_ar: float | None
    open_ar: Decimal
    # Additive (the demo's billing-manager report): where the range's claims are now.
    claims_submitted: int = 0
    claims_by_status: dict[str, int] = {}


@router.get(
    "/kpis", response_model=Kpis, summary="Clean-claim rate, first-pass resolution, denials, days in A/R"
)
async def kpis(
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("report", "kpis", require_scopes("claims:read"))],
    date_from: Annotated[
        date | None, Query(description="Claims created on or after (default: 90 days ago).")
    ] = None,
    date_to: Annotated[
        date | None, Query(description="Claims created on or before (default: today).")
    ] = None,
    payer_id: Annotated[str | None, Query(max_length=64, description="One payer's claims only.")] = None,
) -> Kpis:
    """Over claims created in the range: clean = no error edit on the first scrub; first pass =
    paid on the first submission with no rejection or denial; denial rate = adjudicated claims
    with a denial; days in A/R = open balance ÷ average daily charges of the range."""
    end = date_to or date.today()
    start = date_from or end - timedelta(days=90)
    if start > end:
        raise invalid(("query.date_from", "range", "date_from must not be after date_to."))
    params: dict[str, Any] = {"start": start, "end": end, "payer": payer_id}
    row = (
        await session.execute(
            text(
                f"""
                SELECT count(*) AS created,
                       count(*) FILTER (WHERE first_scrub_clean IS NOT NULL) AS scrubbed,
                       count(*) FILTER (WHERE first_scrub_clean) AS clean,
                       count(*) FILTER (WHERE adjudicated_at IS NOT NULL) AS adjudicated,
                       count(*) FILTER (WHERE submission_count > 0) AS submitted,
                       count(*) FILTER (WHERE adjudicated_at IS NOT NULL AND submission_count = 1
                           AND NOT EXISTS (
                           SELECT 1 FROM claim_status_history h WHERE h.claim_id = claims.id
                           AND h.to_status IN ('rejected', 'denied', 'partial'))) AS first_pass,
                       coalesce(sum(total_charge), 0) AS charges
                FROM claims WHERE {_IN_RANGE}
                """  # noqa: S608 - constant
            ),
            params,
        )
    ).one()
    denials = (
        await session.execute(
            text(
                "SELECT d.reason_code, d.payer_id, count(DISTINCT d.claim_id) FROM denials d "  # noqa: S608
                "JOIN claims c ON c.id = d.claim_id "
                f"WHERE {_C_IN_RANGE} GROUP BY d.reason_code, d.payer_id"
            ),
            params,
        )
    ).all()
    # Claims per payer and status: where the range's claims are now, and each payer's adjudicated.
    counts = (
        await session.execute(
            text(
                "SELECT payer_id, status, count(*), count(*) FILTER (WHERE adjudicated_at IS NOT NULL) "  # noqa: S608
                f"FROM claims WHERE {_IN_RANGE} GROUP BY payer_id, status"
            ),
            params,
        )
    ).all()
    denied_claims = (
        await session.execute(
            text(
                "SELECT count(DISTINCT d.claim_id) FROM denials d JOIN claims c ON c.id = d.claim_id "  # noqa: S608
                f"WHERE {_C_IN_RANGE}"
            ),
            params,
        )
    ).scalar_one()
    open_ar = (
        await session.execute(
            text(
                "SELECT coalesce(sum(total_charge - coalesce(paid_amount, 0)), 0) FROM claims "  # noqa: S608
                f"WHERE {_OPEN} "
                "AND (CAST(:payer AS text) IS NULL OR payer_id = :payer)"
            ),
            {"payer": payer_id},
        )
    ).scalar_one()
    by_reason: dict[str, int] = {}
    by_payer: dict[str, int] = {}
    for reason, payer, n in denials:
        by_reason[reason] = by_reason.get(reason, 0) + n
        by_payer[payer] = by_payer.get(payer, 0) + n
    by_status: dict[str, int] = {}
    adjudicated_by_payer: dict[str, int] = {}
    for payer, status, n, adjudicated in counts:
        by_status[status] = by_status.get(status, 0) + n
        adjudicated_by_payer[payer] = adjudicated_by_payer.get(payer, 0) + adjudicated
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
        days_in_ar=round(float(Decimal(open_ar) / daily), 1) if daily else None,
        open_ar=Decimal(open_ar),
        claims_submitted=row.submitted,
        claims_by_status=dict(sorted(by_status.items())),
    )
