"""HTTP for the collections report."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.payments.accounts.schemas import ACCOUNT_ID
from services.payments.reports import usecases
from services.payments.reports.schemas import Collections, InsuranceAr
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import Dates
from shared.problems import invalid

router = APIRouter(tags=["reconciliation"])

ReadCollections = Annotated[AuditTrail, audited("report", "collections", require_scopes("payments:read"))]
ReadInsuranceAr = Annotated[AuditTrail, audited("report", "insurance_ar", require_scopes("payments:read"))]


@router.get(
    "/v1/reports/collections",
    response_model=Collections,
    summary="Charges, payments, adjustments and the net collection rate for a date range",
    description="Ledger rows written from `date_from` through `date_to`; `date_to` defaults to today "
    "and `date_from` to `date_to`.",
)
async def collections(session: SessionDep, _: ReadCollections, dates: Dates) -> Collections:
    end = dates.date_to or date.today()
    start = dates.date_from or end
    if start > end:  # a date_from after today with date_to left out (both given: Dates checks)
        raise invalid(("query.date_from", "range", "date_from must not be after date_to (default today)."))
    return await usecases.collections(session, start, end)


@router.get(
    "/v1/reports/insurance-ar",
    response_model=InsuranceAr,
    summary="Insurance A/R per payer, aged from the date of service (equals claims' A/R aging)",
    description="The insurance bucket of the ledger (rows written by the end of `as_of`, default today) "
    "per claim, grouped by the claim's payer. Denied amounts stay in it until worked; a secondary claim "
    "holds what the previous payer left to the patient, moved to it when it was billed.",
)
async def insurance_ar(
    session: SessionDep,
    trail: ReadInsuranceAr,
    as_of: Annotated[date | None, Query(description="Report date (default today).")] = None,
    account_id: Annotated[
        str | None, Query(pattern=ACCOUNT_ID, description="One patient account's claims only.")
    ] = None,
) -> InsuranceAr:
    trail.patient_id = account_id
    return await usecases.insurance_ar(session, as_of or date.today(), account_id)
