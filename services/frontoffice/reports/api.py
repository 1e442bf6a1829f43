"""Ticket reports API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.frontoffice.reports import usecases
from services.frontoffice.reports.schemas import TicketReport
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import Dates

router = APIRouter(prefix="/v1/reports", tags=["tickets"])

ReportTrail = Annotated[AuditTrail, audited("ticket_report", "read", require_scopes("tickets:read"))]


@router.get(
    "/tickets",
    response_model=TicketReport,
    response_model_by_alias=True,
    summary="Open tickets by age and category, SLA breaches, median time to resolve",
    description="`open_by_age` is now (age buckets 0-2, 3-7, 8-30, >30 whole days since opened). "
    "`breaches` counts tickets first breached within `date_from`/`date_to`; `time_to_resolve` "
    "the tickets resolved within it. Counts only: no patient is named.",
)
async def ticket_report(session: SessionDep, trail: ReportTrail, dates: Dates) -> TicketReport:
    return await usecases.ticket_report(session, dates)
