"""HTTP for the collections report."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.payments.reports import usecases
from services.payments.reports.domain import check_range
from services.payments.reports.schemas import Collections
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(tags=["reconciliation"])

ReadCollections = Annotated[AuditTrail, audited("report", "collections", require_scopes("payments:read"))]


@router.get(
    "/v1/reports/collections",
    response_model=Collections,
    summary="Charges, payments, adjustments and the net collection rate for a date range",
)
async def collections(
    session: SessionDep,
    _: ReadCollections,
    date_from: Annotated[date | None, Query(alias="from", description="Default: today.")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Default: today.")] = None,
) -> Collections:
    end = date_to or date.today()
    start = date_from or end
    check_range(start, end)
    return await usecases.collections(session, start, end)
