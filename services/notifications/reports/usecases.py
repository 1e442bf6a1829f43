"""The deliveries report."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.reports import store
from services.notifications.reports.schemas import DeliveryReport


async def deliveries_report(session: AsyncSession, start: date, end: date) -> DeliveryReport:
    """Notifications (inbox messages) created from `start` to `end` inclusive, and their
    email/SMS/in-app deliveries by status (`sent`, `pending`, `failed`, `suppressed`)."""
    until = end + timedelta(days=1)
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, n in await store.deliveries_by_channel_and_status(session, start, until):
        by_channel.setdefault(channel, {})[status] = n
    by_template: dict[str, int] = {}
    by_audience: dict[str, int] = {}
    total = 0
    for template, kind, n in await store.notifications_by_template_and_audience(session, start, until):
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
