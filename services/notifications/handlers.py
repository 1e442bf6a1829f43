"""Event handlers: decide who hears what, and record it; never talk to a provider here.

The consumer runs a handler in the same transaction as its inbox row (dedupe by event id).
Here we write, in that transaction: the notification (the in-app message, visible at once),
and one `deliveries` row per (event, recipient, channel) for the worker to send. Both have a
unique key, so even a replay that slipped past the inbox adds nothing. A slow or failing SMTP
or SMS provider therefore cannot hold up consumption: it only delays the worker.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.messages import Plan, plan_for
from services.notifications.models import Delivery, InboxMessage, Preference, Recipient
from services.notifications.phi import find_phi
from services.notifications.rules import CATEGORIES, PUSH_CHANNELS
from services.notifications.settings import NotificationSettings
from services.notifications.templating import Rendered, render
from shared.events import Event, new_event
from shared.events.catalogue import NotificationFailed, NotificationSent
from shared.outbox import add_event

SOURCE = "/services/notifications"


@cache
def _settings() -> NotificationSettings:
    return NotificationSettings()


def quiet_until(now: datetime, start: time | None, end: time | None, tz: str) -> datetime | None:
    """When quiet hours (local time, may wrap midnight) end, if `now` falls inside them."""
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


async def _recipients(session: AsyncSession, plan: Plan) -> list[tuple[str, Recipient | None]]:
    if not plan.staff:
        assert plan.patient_id is not None
        found = await session.get(Recipient, plan.patient_id)
        return [(plan.patient_id, found if found is None or found.kind == "patient" else None)]
    roles = list(CATEGORIES[plan.category].roles)
    match = col(Recipient.roles).overlap(roles)
    if plan.payer_id:
        match = or_(match, col(Recipient.payer_ids).contains([plan.payer_id]))
    rows = (await session.exec(select(Recipient).where(Recipient.kind == "staff", match))).all()
    return [(r.id, r) for r in rows]


async def _preferences(session: AsyncSession, recipient_id: str, category: str) -> dict[str, Preference]:
    rows = await session.exec(
        select(Preference).where(Preference.recipient_id == recipient_id, Preference.category == category)
    )
    return {p.channel: p for p in rows}


def _failed_event(row: dict[str, Any], reason: str, attempts: int, at: datetime) -> Event:
    return new_event(
        NotificationFailed(
            notification_id=row["notification_id"],
            recipient_id=row["recipient_id"],
            channel=row["channel"],
            template=row["template"],
            reason=reason,
            attempts=attempts,
            failed_at=at,
        ),
        source=SOURCE,
    )


async def notify(session: AsyncSession, event: Event, plan: Plan, rendered: Rendered) -> int:
    """Record the notification and its deliveries for every recipient; returns how many were new."""
    category = CATEGORIES[plan.category]
    now = datetime.now(UTC)
    created = 0
    for recipient_id, recipient in await _recipients(session, plan):
        message_id = uuid.uuid4()
        inserted = await session.execute(
            insert(InboxMessage)
            .values(
                id=message_id,
                recipient_id=recipient_id,
                template=rendered.template,
                template_version=rendered.version,
                subject=rendered.subject,
                body=rendered.inbox,
                cause_event_id=event.id,
                cause_event_type=event.type,
                category=plan.category,
                required=category.required,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(InboxMessage.id)
        )
        if inserted.scalar_one_or_none() is None:
            continue  # this event already notified this recipient
        created += 1
        base = {
            "notification_id": message_id,
            "recipient_id": recipient_id,
            "template": rendered.template,
            "template_version": rendered.version,
            "subject": rendered.subject,
            "cause_event_id": event.id,
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
        }
        rows = [
            {
                **base,
                "id": uuid.uuid4(),
                "channel": "inbox",
                "body": rendered.inbox,
                "status": "sent",
                "sent_at": now,
                "address": None,
                "reason": None,
            }
        ]
        events = [
            new_event(
                NotificationSent(
                    notification_id=message_id,
                    recipient_id=recipient_id,
                    channel="inbox",
                    template=rendered.template,
                    template_version=rendered.version,
                    cause_event_id=event.id,
                    sent_at=now,
                ),
                source=SOURCE,
            )
        ]
        prefs = await _preferences(session, recipient_id, plan.category) if recipient else {}
        for channel in PUSH_CHANNELS:
            address = (
                getattr(recipient, "email" if channel == "email" else "phone", None) if recipient else None
            )
            if not address:
                continue
            body = rendered.text_for(channel)
            row = {
                **base,
                "id": uuid.uuid4(),
                "channel": channel,
                "body": body,
                "address": address,
                "status": "pending",
                "sent_at": None,
                "reason": None,
            }
            pref = prefs.get(channel)
            leaks = find_phi(f"{rendered.subject}\n{body}")
            if leaks:
                row.update(status="failed", reason="phi_guard: " + ",".join(leaks))
                events.append(_failed_event(row, row["reason"], 1, now))
            elif pref is not None and not pref.opt_in and not category.required:
                row.update(status="suppressed", reason="opted_out")
            elif pref is not None and (
                until := quiet_until(
                    now, pref.quiet_start, pref.quiet_end, recipient.timezone if recipient else "UTC"
                )
            ):
                row.update(next_attempt_at=until, reason="quiet_hours")
            rows.append(row)
        await session.execute(
            insert(Delivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["cause_event_id", "recipient_id", "channel"])
        )
        for e in events:
            add_event(session, e)
    return created


async def handle(session: AsyncSession, event: Event, topic: str) -> None:
    """Plan `event` as an event of `topic`, render the latest template version, record."""
    plan = plan_for(topic, event.data)
    if plan is None:
        return
    settings = _settings()
    rendered = render(
        plan.template,
        {**plan.context, "practice": settings.practice_name, "sign_in_url": settings.sign_in_url},
    )
    await notify(session, event, plan, rendered)


async def on_event(session: AsyncSession, event: Event) -> None:
    """The handler of every subscribed topic."""
    await handle(session, event, event.topic)
