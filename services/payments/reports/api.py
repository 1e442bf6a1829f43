"""HTTP for the collections report."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter

from services.payments.reports import usecases
from services.payments.reports.schemas import Collections
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import Dates
from shared.problems import invalid

router = APIRouter(tags=["reconciliation"])

ReadCollections = Annotated[AuditTrail, audited("report", "collections", require_scopes("payments:read"))]


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
