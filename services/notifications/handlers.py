"""Event handlers: decide who hears what, and record it; never talk to a provider here.

The consumer runs a handler in the same transaction as its inbox row (dedupe by event id).
Here we write, in that transaction: the notification (the in-app message, visible at once),
and one `deliveries` row per (event, recipient, channel) for the worker to send. Both have a
unique key, so even a replay that slipped past the inbox adds nothing. A slow or failing SMTP
or SMS provider therefore cannot hold up consumption: it only delays the worker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.messages import Plan, plan_for
from services.notifications.phi import find_phi
from services.notifications.rules import CATEGORIES
from services.notifications.settings import NotificationSettings
from services.notifications.templating import Rendered, render
from shared.events import Event, new_event
from shared.events.catalogue import NotificationFailed, NotificationSent
from shared.outbox import add_events

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


@dataclass
class Target:
    """A recipient as the handler needs it: addresses, time zone, this category's preferences."""

    id: str
    email: str | None = None
    phone: str | None = None
    timezone: str = "UTC"
    # channel → (opt_in, quiet_start, quiet_end)
    prefs: dict[str, tuple[bool, time | None, time | None]] = field(default_factory=dict)


_COLUMNS = (
    "SELECT r.id, r.email, r.phone, r.timezone, p.channel, p.opt_in, p.quiet_start, p.quiet_end "
    "FROM recipients r LEFT JOIN preferences p ON p.recipient_id = r.id AND p.category = :category "
)
_PATIENT = text(_COLUMNS + "WHERE r.id = :id AND r.kind = 'patient'")
_STAFF = text(
    _COLUMNS + "WHERE r.kind = 'staff' "
    "AND (r.roles && CAST(:roles AS text[]) OR CAST(:payer AS text) = ANY (r.payer_ids))"
)

# The notification and its deliveries in one statement: no deliveries unless the notification
# is new, and none twice (both inserts skip what their unique keys already hold).
_RECORD = text(
    """
    WITH message AS (
        INSERT INTO inbox_messages (id, recipient_id, template, template_version, subject, body,
                                    cause_event_id, cause_event_type, category, required, created_at)
        VALUES (:message_id, :recipient_id, :template, :version, :subject, :inbox_body,
                :event_id, :event_type, :category, :required, :now)
        ON CONFLICT DO NOTHING
        RETURNING id
    )
    INSERT INTO deliveries (id, notification_id, recipient_id, channel, address, template,
                            template_version, subject, body, cause_event_id, status, reason,
                            attempts, next_attempt_at, created_at, sent_at)
    SELECT d.id, message.id, :recipient_id, d.channel, d.address, :template, :version, :subject,
           d.body, :event_id, d.status, d.reason, 0, d.next_attempt_at, :now, d.sent_at
      FROM message,
           unnest(CAST(:ids AS uuid[]), CAST(:channels AS text[]), CAST(:addresses AS text[]),
                  CAST(:bodies AS text[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]),
                  CAST(:nexts AS timestamptz[]), CAST(:sent_ats AS timestamptz[]))
           AS d(id, channel, address, body, status, reason, next_attempt_at, sent_at)
    ON CONFLICT DO NOTHING
    RETURNING channel, status, reason
    """
)


async def targets(session: AsyncSession, plan: Plan) -> list[Target]:
    """Who hears about `plan`: its patient (known or not), or the subscribed staff."""
    if plan.staff:
        roles = list(CATEGORIES[plan.category].roles)
        params = {"category": plan.category, "roles": roles, "payer": plan.payer_id}
        rows = (await session.execute(_STAFF, params)).all()
    else:
        rows = (await session.execute(_PATIENT, {"category": plan.category, "id": plan.patient_id})).all()
    found: dict[str, Target] = {}
    for r in rows:
        target = found.setdefault(r.id, Target(r.id, r.email, r.phone, r.timezone))
        if r.channel is not None:
            target.prefs[r.channel] = (r.opt_in, r.quiet_start, r.quiet_end)
    if not plan.staff and not found:
        assert plan.patient_id is not None
        return [Target(plan.patient_id)]  # not in the directory: the in-app inbox only
    return list(found.values())


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


def _push_status(
    target: Target, channel: str, message: str, required: bool, now: datetime
) -> tuple[str, str | None, datetime]:
    """(status, reason, not before) of one email or SMS: the PHI guard, opt-out, quiet hours."""
    leaks = find_phi(message)
    if leaks:
        return "failed", "phi_guard: " + ",".join(leaks), now
    opt_in, quiet_start, quiet_end = target.prefs.get(channel, (True, None, None))
    if not opt_in and not required:
        return "suppressed", "opted_out", now
    until = quiet_until(now, quiet_start, quiet_end, target.timezone)
    return ("pending", "quiet_hours", until) if until else ("pending", None, now)


def _row(
    channel: str,
    address: str | None,
    body: str,
    status: str,
    reason: str | None,
    not_before: datetime,
    sent_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "address": address,
        "body": body,
        "status": status,
        "reason": reason,
        "next": not_before,
        "sent_at": sent_at,
    }


async def notify(session: AsyncSession, event: Event, plan: Plan, rendered: Rendered) -> int:
    """Record the notification and its deliveries for every recipient; returns how many were new."""
    category = CATEGORIES[plan.category]
    now = datetime.now(UTC)
    created = 0
    events: list[Event] = []
    for target in await targets(session, plan):
        message_id = uuid.uuid4()
        # The in-app copy is delivered by being written; email and SMS wait for the worker.
        rows = [_row("inbox", None, rendered.inbox, "sent", None, now, sent_at=now)]
        for channel, address in (("email", target.email), ("sms", target.phone)):
            if address:
                body = rendered.text_for(channel)
                status, reason, not_before = _push_status(
                    target, channel, f"{rendered.subject}\n{body}", category.required, now
                )
                rows.append(_row(channel, address, body, status, reason, not_before))
        recorded = (
            await session.execute(
                _RECORD,
                {
                    "message_id": message_id,
                    "recipient_id": target.id,
                    "template": rendered.template,
                    "version": rendered.version,
                    "subject": rendered.subject,
                    "inbox_body": rendered.inbox,
                    "event_id": event.id,
                    "event_type": event.type,
                    "category": plan.category,
                    "required": category.required,
                    "now": now,
                    "ids": [uuid.uuid4() for _ in rows],
                    "channels": [r["channel"] for r in rows],
                    "addresses": [r["address"] for r in rows],
                    "bodies": [r["body"] for r in rows],
                    "statuses": [r["status"] for r in rows],
                    "reasons": [r["reason"] for r in rows],
                    "nexts": [r["next"] for r in rows],
                    "sent_ats": [r["sent_at"] for r in rows],
                },
            )
        ).all()
        if not recorded:
            continue  # this event already notified this recipient
        created += 1
        ids = {"notification_id": message_id, "recipient_id": target.id, "template": rendered.template}
        for channel, status, reason in recorded:
            if channel == "inbox":
                events.append(
                    new_event(
                        NotificationSent(
                            **ids,
                            channel="inbox",
                            template_version=rendered.version,
                            cause_event_id=event.id,
                            sent_at=now,
                        ),
                        source=SOURCE,
                    )
                )
            elif status == "failed":
                events.append(_failed_event({**ids, "channel": channel}, reason, 1, now))
    await add_events(session, events)
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
