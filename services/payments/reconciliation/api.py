"""HTTP for the reconciliation report."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.payments.reconciliation import usecases
from services.payments.reconciliation.schemas import Reconciliation
from services.payments.reports.domain import check_range
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(tags=["reconciliation"])

ReadReconciliation = Annotated[AuditTrail, audited("reconciliation", "read", require_scopes("payments:read"))]


@router.get(
    "/v1/reports/reconciliation",
    response_model=Reconciliation,
    summary="Deposits against postings for a date range (by paid date), and unapplied cash",
)
async def reconciliation(
    session: SessionDep,
    _: ReadReconciliation,
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
) -> Reconciliation:
    check_range(date_from, date_to)
    return await usecases.reconcile(session, date_from, date_to)
