"""Turning events into notifications: plan, render, guard, record. Never talks to a provider.

The consumer runs a handler in the same transaction as its inbox row (dedupe by event id).
Here we write, in that transaction: the notification (the in-app message, visible at once),
and one `deliveries` row per (event, recipient, channel) for the worker to send. Both have a
unique key, and what an earlier handling of the event already wrote is skipped, so a replay
that slipped past the inbox adds nothing. A slow or failing SMTP or SMS provider therefore
cannot hold up consumption: it only delays the worker.

A poll's events of one topic are handled at once: one query reads every recipient they name,
one more finds what was already written, one insert each writes every notification and every
delivery, and one stages every `notification.sent`/`notification.failed`. Per-statement
overhead, not the work, was most of the cost when each event had statements of its own. Each
event still gets exactly the effect it gets alone (a replayed record is handled that way).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.deliveries import store as deliveries
from services.notifications.deliveries.domain import failed_event, sent_event
from services.notifications.inbox import store as inbox
from services.notifications.messages.domain import (
    BLOCKS,
    Plan,
    Rendered,
    day,
    find_phi,
    iso,
    money,
    plan_for,
    push_status,
    targets,
)
from services.notifications.recipients.domain import CATEGORIES, Directory, Target
from services.notifications.recipients.usecases import directory
from services.notifications.settings import NotificationSettings
from shared import templates
from shared.consumer import in_context
from shared.events import Event
from shared.outbox import add_events

# --- templates: `messages/templates/<name>/v<N>.j2`, one file per version -------------------
# A file never changes once messages were sent with it: a new wording is a new file `v<N+1>`,
# and the highest version is the one in use. Every message records (template, version), and
# old versions stay previewable. Each file defines four blocks: `subject`, `email` (plain
# text), `sms` and `inbox`. They render in the one Jinja environment (shared.templates: plain
# text for .j2 files, StrictUndefined turns a misspelt field into an error, not a blank).

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
_PREFIX = "notifications"
_VERSION_FILE = re.compile(r"^v(\d+)\.j2$")
templates.add_template_dir(_PREFIX, TEMPLATE_DIR)
templates.add_filters(money=money, day=day, iso=iso)


class UnknownTemplate(LookupError):
    """No such template, or no such version of it."""


@cache
def versions() -> dict[str, list[int]]:
    """Every template and its versions, ascending (read from the files once)."""
    found: dict[str, list[int]] = {}
    for folder in sorted(p for p in TEMPLATE_DIR.iterdir() if p.is_dir()):
        numbers = sorted(int(m.group(1)) for f in folder.iterdir() if (m := _VERSION_FILE.match(f.name)))
        if numbers:
            found[folder.name] = numbers
    return found


def latest_version(name: str) -> int:
    if name not in versions():
        raise UnknownTemplate(name)
    return versions()[name][-1]


@cache
def _compiled(name: str, version: int) -> tuple[Template, dict[str, Any]]:
    """A template version, compiled once, and the globals it sees. A version's file never
    changes, so neither is looked up again (Jinja's own cache stats the file on every use and
    merges the globals into every context)."""
    if version not in versions().get(name, []):
        raise UnknownTemplate(f"{name} v{version}")
    template = templates.template(f"{_PREFIX}/{name}/v{version}.j2")
    return template, dict(template.globals)


def render(name: str, context: dict[str, Any], version: int | None = None) -> Rendered:
    """Render every block of one template version (the latest when not given)."""
    version = version or latest_version(name)
    template, globals_ = _compiled(name, version)
    # The globals and the context in one new dict, as `new_context` builds it when not shared.
    ctx = template.new_context({**globals_, **context}, shared=True)
    parts = {block: "".join(template.blocks[block](ctx)).strip() for block in BLOCKS}
    # One line for subjects and SMS, whatever the template's whitespace.
    parts["subject"] = " ".join(parts["subject"].split())
    parts["sms"] = " ".join(parts["sms"].split())
    return Rendered(template=name, version=version, **parts)


# --- handling events -------------------------------------------------------------------------


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


@dataclass
class _Rows:
    """What one poll writes: notifications and deliveries, as rows for `insert_many`."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def message(self, job: _Job, target: Target, required: bool) -> _Message:
        """A notification of `job` for `target`, its in-app delivery, and its email and SMS."""
        r, event, now = job.rendered, job.event, job.now
        message = _Message(uuid.uuid4(), target.id, [("inbox", "sent", None)])
        self.messages.append(
            {
                "id": message.id, "recipient_id": target.id, "template": r.template,
                "template_version": r.version, "subject": r.subject, "body": r.inbox,
                "cause_event_id": event.id, "cause_event_type": event.type,
                "category": job.plan.category, "required": required, "created_at": now,
            }
        )  # fmt: skip
        # The in-app copy is delivered by being written; email and SMS wait for the worker.
        self._delivery(job, message, "inbox", None, "sent", None, now, now)
        for channel, address in (("email", target.email), ("sms", target.phone)):
            if address:
                status, reason, not_before = push_status(
                    target, channel, job.leaks_in(channel), required, now
                )
                self._delivery(job, message, channel, address, status, reason, not_before, None)
                message.deliveries.append((channel, status, reason))
        return message

    def _delivery(
        self,
        job: _Job,
        message: _Message,
        channel: str,
        address: str | None,
        status: str,
        reason: str | None,
        not_before: datetime,
        sent_at: datetime | None,
    ) -> None:
        r = job.rendered
        self.deliveries.append(
            {
                "id": uuid.uuid4(), "notification_id": message.id, "recipient_id": message.recipient_id,
                "channel": channel, "address": address, "template": r.template,
                "template_version": r.version, "subject": r.subject, "body": r.text_for(channel),
                "cause_event_id": job.event.id, "status": status, "reason": reason, "attempts": 0,
                "next_attempt_at": not_before, "created_at": job.now, "sent_at": sent_at,
            }
        )  # fmt: skip


def _plan(event: Event, topic: str, settings: NotificationSettings) -> _Job | None:
    """Plan `event` as an event of `topic` and render the latest version of its template."""
    plan = plan_for(topic, event.data)
    if plan is None:
        return None
    return _Job(event, plan, render(plan.template, plan.template_context(settings)), datetime.now(UTC))


async def _directory_for(session: AsyncSession, plans: Sequence[Plan]) -> Directory:
    """Everyone the poll's plans may name (their patients, and the staff of their categories'
    roles or payers), in one query; each plan picks its own from it."""
    staff_plans = [p for p in plans if p.staff]
    return await directory(
        session,
        categories={p.category for p in plans},
        patients={p.patient_id for p in plans if not p.staff and p.patient_id is not None},
        staff=bool(staff_plans),
        roles={role for p in staff_plans for role in CATEGORIES[p.category].roles},
        payers={p.payer_id for p in staff_plans if p.payer_id is not None},
        staff_ids={staff_id for p in staff_plans for staff_id in p.staff_ids},
    )


def _events(jobs: Sequence[_Job]) -> list[Event]:
    """`notification.sent` for each new in-app copy and `notification.failed` for each push the
    PHI guard stopped, each with its cause's correlation id (as when handled alone)."""
    events: list[Event] = []
    for job, event in zip(jobs, in_context([job.event for job in jobs]), strict=True):
        for message in job.messages:
            ids = {
                "notification_id": message.id,
                "recipient_id": message.recipient_id,
                "channel": "inbox",
                "template": job.plan.template,
            }
            for channel, status, reason in message.deliveries:
                if channel == "inbox":
                    inbox_copy = {**ids, "template_version": job.rendered.version, "cause_event_id": event.id}
                    events.append(sent_event(inbox_copy, job.now))
                elif status == "failed":
                    assert reason is not None
                    events.append(failed_event({**ids, "channel": channel}, reason, 1, job.now))
    return events


async def notify_all(session: AsyncSession, jobs: Sequence[_Job]) -> int:
    """Record every job's notification and deliveries for every recipient, then their
    `notification.sent`/`notification.failed` events; returns how many notifications were new.
    Each event's effect is the one it would have alone: the directory does not change during a
    poll, each notification keeps its event's time, and what an earlier handling of the event
    wrote (its unique keys) is skipped."""
    found = await _directory_for(session, [job.plan for job in jobs])
    written = await inbox.existing_keys(session, [job.event.id for job in jobs])
    rows = _Rows()
    for job in jobs:
        required = CATEGORIES[job.plan.category].required
        for target in targets(found, job.plan):
            key = (job.event.id, target.id, job.plan.template)
            if key in written:
                continue  # this event already notified this recipient
            written.add(key)
            job.messages.append(rows.message(job, target, required))
    if not rows.messages:
        return 0
    await inbox.add_many(session, rows.messages)
    await deliveries.add_many(session, rows.deliveries)
    await add_events(session, _events(jobs))
    return len(rows.messages)


async def handle_all(session: AsyncSession, events: Sequence[Event], topic: str | None = None) -> int:
    """Plan each event (as an event of `topic`, else of its own), render, record; returns how
    many notifications were new."""
    settings = NotificationSettings()
    jobs = [job for event in events if (job := _plan(event, topic or event.topic, settings)) is not None]
    if not jobs:
        return 0
    return await notify_all(session, jobs)
