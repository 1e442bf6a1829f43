"""What was sent, for the billing manager: deliveries per channel and status, and messages per
template and audience, over a range of days. Counts only (no recipients, no text), so the
report carries no PHI; the demo (`make demo`) prints it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import text

from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import invalid

router = APIRouter(prefix="/v1/reports", tags=["reports"])


class DeliveryReport(BaseModel):
    date_from: date
    date_to: date
    notifications: int
    by_channel: dict[str, dict[str, int]]
    by_template: dict[str, int]
    by_audience: dict[str, int]


@router.get("/deliveries", response_model=DeliveryReport, summary="Notifications and deliveries, counted")
async def deliveries(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("report", "deliveries", require_scopes("notifications:read"))],
    date_from: Annotated[date | None, Query(description="Created on or after (default: today).")] = None,
    date_to: Annotated[date | None, Query(description="Created on or before (default: today).")] = None,
) -> DeliveryReport:
    """Notifications (inbox messages) created in the range, and their email/SMS/in-app
    deliveries by status (`sent`, `pending`, `failed`, `suppressed`)."""
    end = date_to or date.today()
    start = date_from or end
    if start > end:
        raise invalid(("query.date_from", "range", "date_from is after date_to."))
    params = {"start": start, "end": end + timedelta(days=1)}
    where = "created_at >= :start AND created_at < :end"
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, n in (
        await session.execute(
            text(f"SELECT channel, status, count(*) FROM deliveries WHERE {where} GROUP BY 1, 2"),  # noqa: S608
            params,
        )
    ).all():
        by_channel.setdefault(channel, {})[status] = n
    by_template: dict[str, int] = {}
    by_audience: dict[str, int] = {}
    total = 0
    for template, kind, n in (
        await session.execute(
            text(
                "SELECT m.template, coalesce(r.kind, 'patient'), count(*) FROM inbox_messages m "
                "LEFT JOIN recipients r ON r.id = m.recipient_id "
                "WHERE m.created_at >= :start AND m.created_at < :end GROUP BY 1, 2"
            ),
            params,
        )
    ).all():
        by_template[template] = by_template.get(template, 0) + n
        by_audience[kind] = by_audience.get(kind, 0) + n
        total += n
    return DeliveryReport(
        date_from=start,
        date_to=end,
        notifications=total,
        by_channel=by_channel,
        by_template=dict(sorted(by_template.items())),
        by_audience=by_audience,
    )
