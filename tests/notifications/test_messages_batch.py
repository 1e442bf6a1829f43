"""The notifications handler takes a poll's events at once (one directory query, one write, one
outbox insert). These tests hold it to what each event does on its own: the same messages,
deliveries and events, with each event's correlation id, however the events are grouped, and
nothing more when a batch is handled again."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import text

from services.notifications.messages.events import on_event, on_events
from services.notifications.service import SERVICE
from shared import context
from shared.consumer import EventConsumer, records_of
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import (
    AccountSentToCollections,
    Adjustment,
    ClaimDenied,
    EligibilityChecked,
    PaymentPosted,
)
from shared.events.envelope import Event
from shared.kafka import KafkaAccess
from tests.conftest import encode_signed, unique

NOW = datetime.now(UTC)


class NoDlq:
    """The consumer's dead-letter producer; nothing here may be dead-lettered."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send_and_wait(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(args)


async def make_directory(db: Database, *, patient: str, payer: str) -> list[str]:
    """A patient with email and SMS (SMS receipts off, email receipts in all-day quiet hours,
    collections email off) and two staff members subscribed to `payer` only; their ids."""
    staff = [unique("staff-a"), unique("staff-b")]
    async with db.session() as session, session.begin():
        for rid, kind, email, phone, payers in (
            (patient, "patient", f"{patient}@mail.example", "+15555550199", []),
            (staff[0], "staff", f"{staff[0]}@practice.example", None, [payer]),
            (staff[1], "staff", None, "+15555550198", [payer]),
        ):
            await session.execute(
                text(
                    "INSERT INTO recipients (id, kind, email, phone, timezone, roles, payer_ids, "
                    "created_at, updated_at) "
                    "VALUES (:id, :kind, :email, :phone, 'America/Chicago', '{}', :payers, :at, :at)"
                ),
                {"id": rid, "kind": kind, "email": email, "phone": phone, "payers": payers, "at": NOW},
            )
        for category, channel, opt_in, quiet in (
            ("receipts", "sms", False, None),
            ("receipts", "email", True, (local_now(-1), local_now(+1))),
            ("collections", "email", False, None),
        ):
            await session.execute(
                text(
                    "INSERT INTO preferences "
                    "(recipient_id, category, channel, opt_in, quiet_start, quiet_end) "
                    "VALUES (:id, :category, :channel, :opt_in, :start, :end)"
                ),
                {
                    "id": patient,
                    "category": category,
                    "channel": channel,
                    "opt_in": opt_in,
                    "start": quiet[0] if quiet else None,
                    "end": quiet[1] if quiet else None,
                },
            )
    return staff


def local_now(hours: int) -> time:
    """The patient's local time `hours` from now: quiet hours around now (they may wrap midnight)."""
    return (datetime.now(ZoneInfo("America/Chicago")) + timedelta(hours=hours)).time().replace(microsecond=0)


def make_payloads(patient: str, stranger: str, payer: str) -> list[BaseModel]:
    def insurer(amount: str) -> PaymentPosted:
        return PaymentPosted(
            payment_id=uuid.uuid4(),
            source="insurer",
            claim_id=uuid.uuid4(),
            account_id=patient,
            amount=Decimal(amount),
            method="eft",
            posted_at=NOW,
            payer_id=payer,
            claim_status_code="1",
            charge=Decimal("200.00"),
            allowed=Decimal("150.00"),
            patient_responsibility=Decimal("20.00"),
        )

    return [
        insurer("130.00"),
        insurer("95.50"),  # a second event for the same patient in the same poll
        PaymentPosted(
            payment_id=uuid.uuid4(),
            source="insurer",
            claim_id=uuid.uuid4(),
            account_id=stranger,  # not in the directory: the in-app inbox only
            amount=Decimal("42.00"),
            method="eft",
            posted_at=NOW,
            payer_id=payer,
            claim_status_code="1",
        ),
        PaymentPosted(
            payment_id=uuid.uuid4(),
            source="patient",
            account_id=patient,
            amount=Decimal("25.00"),
            method="card",
            posted_at=NOW,
            receipt_number="R-TEST-0001",
        ),
        # Required, so the email opt-out does not hold it back; but the agency's name reads as
        # a member id, so the PHI guard fails both pushes (notification.failed).
        AccountSentToCollections(
            account_id=patient, agency="Acme member id ZX12345", balance=Decimal("612.40"), referred_at=NOW
        ),
        ClaimDenied(
            claim_id=uuid.uuid4(),
            payer_id=payer,
            patient_id=patient,
            adjustments=[Adjustment(group_code="CO", reason_code="50", amount=Decimal("300.00"))],
            action="appeal",
            denied_at=NOW,
            denied_amount=Decimal("300.00"),
        ),
        EligibilityChecked(  # active: plans nothing
            check_id=uuid.uuid4(),
            patient_id=patient,
            payer_id=payer,
            status="active",
            date_of_service=date.today() + timedelta(days=2),
            checked_at=NOW,
        ),
    ]


def make_events(payloads: list[BaseModel], tag: str) -> list[Event]:
    events = []
    for i, payload in enumerate(payloads):
        context.start(f"{tag}-{i}")
        events.append(new_event(payload, source="/tests/notifications"))
    context.reset()
    return events


async def effects_of(db: Database, events: list[Event]) -> dict[str, Any]:
    """What the events caused, by event position, with the random ids left out."""
    position = {e.id: i for i, e in enumerate(events)}
    async with db.session() as session:
        messages = (
            await session.execute(
                text(
                    "SELECT id, cause_event_id, recipient_id, template, template_version, subject, body, "
                    "cause_event_type, category, required, created_at FROM inbox_messages "
                    "WHERE cause_event_id = ANY(:ids)"
                ),
                {"ids": list(position)},
            )
        ).all()
        deliveries = (
            await session.execute(
                text(
                    "SELECT cause_event_id, recipient_id, channel, address, subject, body, status, reason, "
                    "attempts, next_attempt_at > created_at AS deferred, sent_at IS NOT NULL AS sent "
                    "FROM deliveries WHERE cause_event_id = ANY(:ids)"
                ),
                {"ids": list(position)},
            )
        ).all()
        notification = {m.id: (position[m.cause_event_id], m.recipient_id) for m in messages}
        outbox = (
            await session.execute(
                text(
                    "SELECT event_type, event_key, headers, payload FROM outbox "
                    "WHERE (convert_from(payload, 'UTF8')::jsonb ->> 'notification_id')::uuid = ANY(:ids) "
                    "ORDER BY id"
                ),
                {"ids": list(notification)},
            )
        ).all()

    def event_of(row: Any) -> tuple[Any, ...]:
        headers = row.headers if isinstance(row.headers, dict) else json.loads(row.headers)
        data = json.loads(row.payload)
        cause, recipient = notification[uuid.UUID(data.pop("notification_id"))]
        data.pop("sent_at", None)
        data.pop("failed_at", None)
        data.pop("cause_event_id", None)
        _, _, index = headers["ce_correlationid"].rpartition("-")
        assert int(index) == cause, "the event carries its cause's correlation id"
        return (cause, recipient, row.event_type, row.event_key, json.dumps(data, sort_keys=True))

    return {
        "messages": sorted((position[m.cause_event_id], *tuple(m)[2:10]) for m in messages),
        "deliveries": sorted((position[d.cause_event_id], *tuple(d)[1:]) for d in deliveries),
        # Per recipient (the key of notification.* events) in the order they were staged.
        "events": sorted(map(event_of, outbox), key=lambda e: (e[1], e[0], e[2], e[4])),
        "outbox_order": [event_of(row)[:2] for row in outbox],
        "times": {position[m.cause_event_id]: m.created_at for m in messages},
    }


async def test_a_poll_at_once_has_the_effect_of_each_event_alone_and_a_replay_adds_nothing(settings, db):
    patient, stranger, payer = unique("pat"), unique("stranger"), unique("PAYER")
    staff = await make_directory(db, patient=patient, payer=payer)
    payloads = make_payloads(patient, stranger, payer)
    # The same events twice over (new ids): once through the consumer, a poll at a time (each
    # topic's events in one handler call), once event by event on their own.
    polled, alone = make_events(payloads, "polled"), make_events(payloads, "alone")
    dlq = NoDlq()
    consumer = EventConsumer(
        db,
        KafkaAccess("unused:9092", None, None),
        service="notifications-test",
        group_id=unique("group"),
        handlers=SERVICE.handlers,
        dlq_producer=dlq,  # type: ignore[arg-type]
    )
    await consumer.process(records_of(polled, encoder=encode_signed))
    assert dlq.sent == []
    for event in alone:
        async with db.session() as session, session.begin():
            await on_event(session, event)

    together, one_by_one = await effects_of(db, polled), await effects_of(db, alone)
    for part in ("messages", "deliveries", "events"):
        assert together[part] == one_by_one[part], part
    # Events of one poll are staged in event order (the outbox relays them in that order).
    assert [cause for cause, _ in together["outbox_order"]] == sorted(
        cause for cause, _ in together["outbox_order"]
    )
    # Each event keeps its own time: two messages to one patient from one poll stay in order.
    assert together["times"][0] < together["times"][1]

    # What that is, spelled out for the patient's two insurer payments and the rest.
    by_event: dict[int, list[tuple[Any, ...]]] = {}
    for d in together["deliveries"]:
        by_event.setdefault(d[0], []).append((d[1], d[2], d[6], d[7], d[9]))
    quiet_email = (patient, "email", "pending", "quiet_hours", True)
    no_sms = (patient, "sms", "suppressed", "opted_out", False)
    inbox = (patient, "inbox", "sent", None, False)
    assert sorted(by_event[0]) == sorted(by_event[1]) == sorted([quiet_email, no_sms, inbox])
    assert by_event[2] == [(stranger, "inbox", "sent", None, False)]
    assert sorted(by_event[4]) == sorted(
        [
            (patient, "email", "failed", "phi_guard: member_id", False),
            (patient, "inbox", "sent", None, False),
            (patient, "sms", "failed", "phi_guard: member_id", False),
        ]
    )
    assert {d[0] for d in by_event[5]} >= set(staff)  # fan-out by payer subscription
    assert 6 not in by_event
    failed = [e for e in together["events"] if e[2] == "notification.failed.v1"]
    assert [(e[0], e[1]) for e in failed] == [(4, patient), (4, patient)]

    # Handled again, as a batch and one by one (as if the inbox rows were lost): nothing new.
    async with db.session() as session, session.begin():
        await on_events(session, polled)
    async with db.session() as session, session.begin():
        await on_event(session, polled[0])
    again = await effects_of(db, polled)
    assert {k: again[k] for k in ("messages", "deliveries", "events")} == {
        k: together[k] for k in ("messages", "deliveries", "events")
    }
