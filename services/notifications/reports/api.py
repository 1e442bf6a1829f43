"""Report routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.notifications.reports import usecases
from services.notifications.reports.schemas import DeliveryReport
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import invalid

router = APIRouter(prefix="/v1/reports", tags=["reports"])

ReadDeliveriesReport = Annotated[
    AuditTrail, audited("report", "deliveries", require_scopes("notifications:read"))
]


@router.get("/deliveries", response_model=DeliveryReport, summary="Notifications and deliveries, counted")
async def deliveries(
    session: SessionDep,
    _: ReadDeliveriesReport,
    date_from: Annotated[date | None, Query(description="Created on or after (default: today).")] = None,
    date_to: Annotated[date | None, Query(description="Created on or before (default: today).")] = None,
) -> DeliveryReport:
    """Notifications (inbox messages) created in the range, and their email/SMS/in-app
    deliveries by status (`sent`, `pending`, `failed`, `suppressed`)."""
    end = date_to or date.today()
    start = date_from or end
    if start > end:
        raise invalid(("query.date_from", "range", "date_from is after date_to."))
    return await usecases.deliveries_report(session, start, end)
