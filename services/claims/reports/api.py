"""Reports API: A/R aging and the billing KPIs."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.claims.reports import usecases
from services.claims.reports.schemas import Aging, Kpis
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import Dates

router = APIRouter(prefix="/v1/reports", tags=["reports"])

AgingTrail = Annotated[AuditTrail, audited("report", "ar_aging", require_scopes("claims:read"))]
KpisTrail = Annotated[AuditTrail, audited("report", "kpis", require_scopes("claims:read"))]


@router.get("/ar-aging", response_model=Aging, summary="Open A/R per payer in 0-30 ... 120+ day buckets")
async def ar_aging(
    session: SessionDep,
    trail: AgingTrail,
    as_of: date | None = None,
    patient_id: Annotated[str | None, Query(max_length=64, description="One patient's claims only.")] = None,
) -> Aging:
    """What each payer still owes at the end of `as_of` (default today), per claim, aged from
    its date of service: the charge less what was paid, written down (CO-45, CO-253) and moved to
    the patient (PR-1/2/3), following reversals, corrections and voids. Denied amounts stay
    until worked; a secondary claim holds what the primary left to the patient. The same
    totals as payments' `GET /v1/reports/insurance-ar`."""
    trail.patient_id = patient_id
    return await usecases.ar_aging(session, as_of or date.today(), patient_id)


@router.get(
    "/kpis", response_model=Kpis, summary="Clean-claim rate, first-pass resolution, denials, days in A/R"
)
async def kpis(
    session: SessionDep,
    trail: KpisTrail,
    dates: Dates,
    payer_id: Annotated[str | None, Query(max_length=64, description="One payer's claims only.")] = None,
    by_claim_type: Annotated[
        bool,
        Query(
            description="Also split professional (837P) and institutional (837I) claims in "
            "`by_claim_type`. Off by default: the split reads each claim's content, the totals only "
            "an index."
        ),
    ] = False,
) -> Kpis:
    """Over claims created in the range: clean = no error edit on the first scrub; first pass =
    paid on the first submission with no rejection or denial; denial rate = adjudicated claims
    with a denial; days in A/R = open balance ÷ average daily charges of the range. With
    `by_claim_type=true`, the same per claim type (the parts add up to the totals)."""
    return await usecases.kpis(session, dates, payer_id, by_claim_type)
