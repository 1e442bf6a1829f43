"""HTTP for the reconciliation report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.payments.reconciliation import usecases
from services.payments.reconciliation.domain import required
from services.payments.reconciliation.schemas import Reconciliation
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import Dates

router = APIRouter(tags=["reconciliation"])

ReadReconciliation = Annotated[AuditTrail, audited("reconciliation", "read", require_scopes("payments:read"))]


@router.get(
    "/v1/reports/reconciliation",
    response_model=Reconciliation,
    summary="Deposits against postings for a date range (by paid date), and unapplied cash",
    description="Both `date_from` and `date_to` (BPR paid dates, inclusive) are required.",
)
async def reconciliation(session: SessionDep, _: ReadReconciliation, dates: Dates) -> Reconciliation:
    date_from, date_to = required(dates)
    return await usecases.reconcile(session, date_from, date_to)
