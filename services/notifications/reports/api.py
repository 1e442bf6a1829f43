"""Report routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter

from services.notifications.reports import usecases
from services.notifications.reports.schemas import DeliveryReport
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import Dates
from shared.problems import invalid

router = APIRouter(prefix="/v1/reports", tags=["reports"])

ReadDeliveriesReport = Annotated[
    AuditTrail, audited("report", "deliveries", require_scopes("notifications:read"))
]


@router.get("/deliveries", response_model=DeliveryReport, summary="Notifications and deliveries, counted")
async def deliveries(
    session: SessionDep,
    _: ReadDeliveriesReport,
    dates: Dates,
) -> DeliveryReport:
    """Notifications (inbox messages) created in the range, and their email/SMS/in-app
    deliveries by status (`sent`, `pending`, `failed`, `suppressed`)."""
    # Either end defaults: date_to to today, date_from to date_to.
    end = dates.date_to or date.today()
    start = dates.date_from or end
    if start > end:  # a date_from in the future, with date_to left to default to today
        raise invalid(("query.date_from", "range", "date_from must not be after date_to."))
    return await usecases.deliveries_report(session, start, end)
