"""Event handlers: decide who hears what, and record it; never talk to a provider here.

The consumer runs a handler in the same transaction as its inbox row (dedupe by event id).
Here we write, in that transaction: the notification (the in-app message, visible at once),
and one `deliveries` row per (event, recipient, channel) for the worker to send. Both have a
unique key, so even a replay that slipped past the inbox adds nothing. A slow or failing SMTP
or SMS provider therefore cannot hold up consumption: it only delays the worker.

The consumer hands over a poll's events of one topic at once (`on_events`, a batched handler):
one query reads every recipient they name, one statement writes every notification and
delivery, one insert stages every `notification.sent`/`notification.failed`. Per-statement
overhead, not the work, was most of the cost when each event had three statements of its own.
Each event still gets exactly the effect it gets alone (`on_event`, also how a replayed record
is handled).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
from shared.consumer import in_context
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


# Everyone a poll's plans may name, in one statement: the patients by id, and the staff whose
# roles or payer subscriptions match any staff plan (each plan picks its own below), with their
# preferences for every category of the poll.
_RECIPIENTS = (
    "SELECT r.id, r.kind, r.email, r.phone, r.timezone, r.roles, r.payer_ids, "
    "p.category, p.channel, p.opt_in, p.quiet_start, p.quiet_end "
    "FROM recipients r LEFT JOIN preferences p "
    "ON p.recipient_id = r.id AND p.category = ANY (CAST(:categories AS text[])) "
)
_PATIENTS = f"{_RECIPIENTS}WHERE r.kind = 'patient' AND r.id = ANY (CAST(:patients AS text[]))"
_STAFF = (
    f"{_RECIPIENTS}WHERE r.kind = 'staff' "
    "AND (r.roles && CAST(:roles AS text[]) OR r.payer_ids && CAST(:payers AS text[]))"
)
_DIRECTORY = {
    (True, False): text(_PATIENTS),
    (False, True): text(_STAFF),
    (True, True): text(f"{_PATIENTS} UNION ALL {_STAFF}"),
}

# Every notification of a poll and their deliveries in one statement: a delivery is written only
# with its new notification (the join on what the first insert returned), and neither twice
# (both inserts skip what their unique keys already hold), so a replay adds nothing.
_RECORD = text(
    """
    WITH message AS (
        INSERT INTO inbox_messages (id, recipient_id, template, template_version, subject, body,
                                    cause_event_id, cause_event_type, category, required, created_at)
        SELECT * FROM unnest(CAST(:m_ids AS uuid[]), CAST(:m_recipients AS text[]),
                             CAST(:m_templates AS text[]), CAST(:m_versions AS int[]),
                             CAST(:m_subjects AS text[]), CAST(:m_bodies AS text[]),
                             CAST(:m_events AS uuid[]), CAST(:m_types AS text[]),
                             CAST(:m_categories AS text[]), CAST(:m_required AS boolean[]),
                             CAST(:m_at AS timestamptz[]))
        ON CONFLICT DO NOTHING
        RETURNING id, recipient_id, template, template_version, subject, cause_event_id, created_at
    )
    INSERT INTO deliveries (id, notification_id, recipient_id, channel, address, template,
                            template_version, subject, body, cause_event_id, status, reason,
                            attempts, next_attempt_at, created_at, sent_at)
    SELECT d.id, m.id, m.recipient_id, d.channel, d.address, m.template, m.template_version,
           m.subject, d.body, m.cause_event_id, d.status, d.reason, 0, d.next_attempt_at,
           m.created_at, d.sent_at
      FROM unnest(CAST(:d_ids AS uuid[]), CAST(:d_messages AS uuid[]), CAST(:d_channels AS text[]),
                  CAST(:d_addresses AS text[]), CAST(:d_bodies AS text[]), CAST(:d_statuses AS text[]),
                  CAST(:d_reasons AS text[]), CAST(:d_nexts AS timestamptz[]),
                  CAST(:d_sent_ats AS timestamptz[]))
           AS d(id, message_id, channel, address, body, status, reason, next_attempt_at, sent_at)
      JOIN message m ON m.id = d.message_id
    ON CONFLICT DO NOTHING
    RETURNING notification_id, channel
    """
)


@dataclass
class _Listed:
    """A directory entry as the poll's one query returned it."""

    target: Target
    roles: list[str]
    payer_ids: list[str]
    # (category, channel) → (opt_in, quiet_start, quiet_end)
    prefs: dict[tuple[str, str], tuple[bool, time | None, time | None]] = field(default_factory=dict)

    def for_category(self, category: str) -> Target:
        t = self.target
        prefs = {channel: pref for (cat, channel), pref in self.prefs.items() if cat == category}
        return Target(t.id, t.email, t.phone, t.timezone, prefs)


@dataclass
class _Directory:
    patients: dict[str, _Listed] = field(default_factory=dict)
    staff: dict[str, _Listed] = field(default_factory=dict)

    def targets(self, plan: Plan) -> list[Target]:
        """Who hears about `plan`: its patient (known or not), or the subscribed staff."""
        if plan.staff:
            roles = CATEGORIES[plan.category].roles
            return [
                s.for_category(plan.category)
                for s in self.staff.values()
                if any(role in roles for role in s.roles)
                or (plan.payer_id is not None and plan.payer_id in s.payer_ids)
            ]
        assert plan.patient_id is not None
        listed = self.patients.get(plan.patient_id)
        if listed is None:
            return [Target(plan.patient_id)]  # not in the directory: the in-app inbox only
        return [listed.for_category(plan.category)]


async def directory(session: AsyncSession, plans: Sequence[Plan]) -> _Directory:
    """The recipients and preferences every plan of a poll needs, in one query."""
    patients = {p.patient_id for p in plans if not p.staff and p.patient_id is not None}
    staff_plans = [p for p in plans if p.staff]
    found = _Directory()
    if not patients and not staff_plans:
        return found
    roles = {role for p in staff_plans for role in CATEGORIES[p.category].roles}
    payers = {p.payer_id for p in staff_plans if p.payer_id is not None}
    params = {
        "categories": sorted({p.category for p in plans}),
        "patients": sorted(patients),
        "roles": sorted(roles),
        "payers": sorted(payers),
    }
    rows = (await session.execute(_DIRECTORY[bool(patients), bool(staff_plans)], params)).all()
    for r in rows:
        book = found.staff if r.kind == "staff" else found.patients
        listed = book.get(r.id)
        if listed is None:
            listed = book[r.id] = _Listed(Target(r.id, r.email, r.phone, r.timezone), r.roles, r.payer_ids)
        if r.channel is not None:
            listed.prefs[r.category, r.channel] = (r.opt_in, r.quiet_start, r.quiet_end)
    return found


def sent_event(row: dict[str, Any], at: datetime) -> Event:
    """`notification.sent` for a delivery row (or the in-app copy's columns)."""
    return new_event(
        NotificationSent(
            notification_id=row["notification_id"],
            recipient_id=row["recipient_id"],
            channel=row["channel"],
            template=row["template"],
            template_version=row["template_version"],
            cause_event_id=row["cause_event_id"],
            sent_at=at,
        ),
        source=SOURCE,
    )


def failed_event(row: dict[str, Any], reason: str, attempts: int, at: datetime) -> Event:
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
    target: Target, channel: str, leaks: list[str], required: bool, now: datetime
) -> tuple[str, str | None, datetime]:
    """(status, reason, not before) of one email or SMS: the PHI guard's finding on its text,
    opt-out, quiet hours."""
    if leaks:
        return "failed", "phi_guard: " + ",".join(leaks), now
    opt_in, quiet_start, quiet_end = target.prefs.get(channel, (True, None, None))
    if not opt_in and not required:
        return "suppressed", "opted_out", now
    until = quiet_until(now, quiet_start, quiet_end, target.timezone)
    return ("pending", "quiet_hours", until) if until else ("pending", None, now)


@dataclass
class _Message:
    """One notification to write: its recipient and its deliveries' outcomes."""

    id: uuid.UUID
    recipient_id: str
    # (channel, status, reason) of each delivery, the in-app one first.
    deliveries: list[tuple[str, str, str | None]]


@dataclass
class _Job:
    """One event's plan and rendered message, with when it was handled."""

    event: Event
    plan: Plan
    rendered: Rendered
    now: datetime
    # Per push channel, what the PHI guard found in the text (the same for every recipient).
    leaks: dict[str, list[str]] = field(default_factory=dict)
    # The notifications it causes, one per recipient.
    messages: list[_Message] = field(default_factory=list)

    def leaks_in(self, channel: str) -> list[str]:
        if channel not in self.leaks:
            r = self.rendered
            self.leaks[channel] = find_phi(f"{r.subject}\n{r.text_for(channel)}")
        return self.leaks[channel]


class _Rows:
    """The columns of the poll's one `_RECORD` statement."""

    def __init__(self) -> None:
        self.params: dict[str, list[Any]] = {
            k: []
            for k in (
                "m_ids m_recipients m_templates m_versions m_subjects m_bodies m_events m_types "
                "m_categories m_required m_at d_ids d_messages d_channels d_addresses d_bodies "
                "d_statuses d_reasons d_nexts d_sent_ats"
            ).split()
        }
        # Bound methods: this runs for every recipient of every event.
        p = self.params
        self._message_columns = [p[k].append for k in list(p)[:11]]
        self._delivery_columns = [p[k].append for k in list(p)[11:]]

    def message(self, job: _Job, message_id: uuid.UUID, recipient_id: str, required: bool) -> None:
        r, event = job.rendered, job.event
        values = (
            message_id, recipient_id, r.template, r.version, r.subject, r.inbox,
            event.id, event.type, job.plan.category, required, job.now,
        )  # fmt: skip
        for append, value in zip(self._message_columns, values, strict=True):
            append(value)

    def delivery(
        self,
        message_id: uuid.UUID,
        channel: str,
        address: str | None,
        body: str,
        status: str,
        reason: str | None,
        not_before: datetime,
        sent_at: datetime | None,
    ) -> None:
        values = (uuid.uuid4(), message_id, channel, address, body, status, reason, not_before, sent_at)
        for append, value in zip(self._delivery_columns, values, strict=True):
            append(value)


def _plan(event: Event, topic: str) -> _Job | None:
    """Plan `event` as an event of `topic` and render the latest version of its template."""
    plan = plan_for(topic, event.data)
    if plan is None:
        return None
    return _Job(event, plan, render(plan.template, plan.template_context(_settings())), datetime.now(UTC))


async def notify_all(session: AsyncSession, jobs: Sequence[_Job]) -> int:
    """Record every job's notification and deliveries for every recipient, in one statement,
    then their `notification.sent`/`notification.failed` events in one insert; returns how many
    notifications were new. Each event's effect is the one it would have alone: the directory
    does not change during a poll, each notification keeps its event's time, and the unique
    keys skip what an earlier delivery of the event already wrote."""
    found = await directory(session, [job.plan for job in jobs])
    rows = _Rows()
    written = False
    for job in jobs:
        required = CATEGORIES[job.plan.category].required
        now, rendered = job.now, job.rendered
        for target in found.targets(job.plan):
            message = _Message(uuid.uuid4(), target.id, [("inbox", "sent", None)])
            rows.message(job, message.id, target.id, required)
            # The in-app copy is delivered by being written; email and SMS wait for the worker.
            rows.delivery(message.id, "inbox", None, rendered.inbox, "sent", None, now, now)
            for channel, address in (("email", target.email), ("sms", target.phone)):
                if address:
                    status, reason, not_before = _push_status(
                        target, channel, job.leaks_in(channel), required, now
                    )
                    rows.delivery(
                        message.id,
                        channel,
                        address,
                        rendered.text_for(channel),
                        status,
                        reason,
                        not_before,
                        None,
                    )
                    message.deliveries.append((channel, status, reason))
            job.messages.append(message)
            written = True
    if not written:
        return 0
    recorded = set((await session.execute(_RECORD, rows.params)).all())
    created = 0
    events: list[Event] = []
    # Each event's notifications carry its correlation id, as when it is handled alone.
    for job, event in zip(jobs, in_context([job.event for job in jobs]), strict=True):
        for message in job.messages:
            ids = {
                "notification_id": message.id,
                "recipient_id": message.recipient_id,
                "channel": "inbox",
                "template": job.plan.template,
            }
            new = False
            for channel, status, reason in message.deliveries:
                if (message.id, channel) not in recorded:
                    continue  # this event already notified this recipient
                new = True
                if channel == "inbox":
                    inbox = {**ids, "template_version": job.rendered.version, "cause_event_id": event.id}
                    events.append(sent_event(inbox, job.now))
                elif status == "failed":
                    assert reason is not None
                    events.append(failed_event({**ids, "channel": channel}, reason, 1, job.now))
            created += new
    await add_events(session, events)
    return created


async def handle_all(session: AsyncSession, events: Sequence[Event], topic: str | None = None) -> int:
    """Plan each event (as an event of `topic`, else of its own), render, record; returns how
    many notifications were new."""
    jobs = [job for event in events if (job := _plan(event, topic or event.topic)) is not None]
    if not jobs:
        return 0
    return await notify_all(session, jobs)


async def on_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """The handler of every subscribed topic: a poll's events of one topic at once."""
    await handle_all(session, events)


async def on_event(session: AsyncSession, event: Event) -> None:
    """One event on its own (a replay outside the consumer)."""
    await handle_all(session, [event])
