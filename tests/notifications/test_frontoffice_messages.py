"""The front office's events as messages: the assignee hears of an assignment or an escalation
(a staff recipient named by id, and nobody by role), the patient hears their inquiry was
resolved or their assistance approved, once per event, with no PHI in the text: the ticket
number, never a name, an amount or a diagnosis."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from decimal import Decimal

from services.notifications.messages.domain import find_phi, plan_for
from services.notifications.templates.domain import PHI_TRAP_VALUES
from shared.events.frontoffice import (
    FinancialAssistanceApproved,
    TicketAssigned,
    TicketEscalated,
    TicketResolved,
)
from tests.conftest import eventually, unique
from tests.notifications.helpers import (
    NOW,
    get_notifications,
    make_group_at_end,
    publish,
    put_recipient,
    running_notifications,
    when,
)


def _number() -> str:
    return f"T-{random.randrange(10**6):06d}"


def _clean(subject: str, text: str) -> None:
    """No PHI kind the guard knows, and none of the sample patient's values."""
    assert find_phi(f"{subject}\n{text}", PHI_TRAP_VALUES) == [], text


def test_a_practice_inquiry_resolved_tells_no_patient():
    resolved = TicketResolved(
        ticket_id=uuid.uuid4(), number="T-000001", category="complaint", requester_kind="practice",
        requester_id="practice-1", channel="email", resolution_code="explained", resolved_at=NOW,
    )  # fmt: skip
    assert plan_for("ticket.resolved", resolved) is None


async def test_the_assignee_hears_of_assignment_and_escalation_and_no_role_does(settings, sink, producer):
    settings = await make_group_at_end(settings)
    assignee, contact, bystander = unique("staff"), unique("lead"), unique("mgr")
    number = _number()
    async with running_notifications(settings, sink) as (_, client):
        await put_recipient(
            client,
            assignee,
            kind="staff",
            email=f"{assignee}@practice.example",
            phone="+15555550171",
            roles=["front_desk"],
        )
        await put_recipient(
            client, contact, kind="staff", email=f"{contact}@practice.example", roles=["billing"]
        )
        await put_recipient(
            client,
            bystander,
            kind="staff",
            email=f"{bystander}@practice.example",
            roles=["billing", "manager"],
        )
        ticket = uuid.uuid4()
        await publish(
            producer,
            TicketAssigned(
                ticket_id=ticket, number=number, category="dispute", assignee_id=assignee,
                assigned_by="clerk-1", due_at=NOW + timedelta(days=30), assigned_at=NOW,
            ),
            copies=2,
        )  # fmt: skip
        await publish(
            producer,
            TicketEscalated(
                ticket_id=ticket, number=number, category="dispute", assignee_id=assignee,
                escalated_to=contact, level=1, due_at=NOW, breached_at=NOW,
            ),
        )  # fmt: skip
        mails = await eventually(
            lambda: when(sink.messages(to=f"{assignee}@practice.example"), lambda ms: len(ms) >= 2),
            timeout=60,
            what="the assignee's two emails",
        )
        to_contact = await eventually(
            lambda: when(sink.messages(to=f"{contact}@practice.example"), bool),
            timeout=30,
            what="contact's email",
        )
        texts = await eventually(
            lambda: when(sink.sms(to="+15555550171"), lambda ms: len(ms) >= 2), timeout=30
        )
        assert await get_notifications(client, bystander) == []  # a role alone hears nothing of tickets
    assigned = next(m for m in mails if "assigned" in m["subject"])
    assert assigned["subject"] == f"Ticket {number} assigned to you"
    assert f"Ticket {number} (dispute) is assigned to you" in assigned["text"]
    escalated = next(m for m in mails if "escalated" in m["subject"])
    assert (escalated["subject"], to_contact[0]["subject"]) == (f"Ticket {number} escalated (level 1)",) * 2
    assert len(mails) == 2  # the assignment, published twice, is told once
    for m in [*mails, *to_contact]:
        _clean(m["subject"], m["text"])
    for s in texts:
        _clean("", s["body"])


async def test_the_patient_hears_the_inquiry_resolved_once_without_phi(settings, sink, producer):
    settings = await make_group_at_end(settings)
    patient = unique("pat")
    email, phone = f"{patient}@mail.example", "+15555550172"
    number = _number()
    async with running_notifications(settings, sink) as (_, client):
        await put_recipient(client, patient, kind="patient", email=email, phone=phone)
        await publish(
            producer,
            TicketResolved(
                ticket_id=uuid.uuid4(), number=number, category="dispute", requester_kind="patient",
                requester_id=patient, account_id=patient, patient_id=patient, channel="phone",
                resolution_code="corrected", resolved_at=NOW,
            ),
            copies=2,
        )  # fmt: skip
        await publish(
            producer,
            FinancialAssistanceApproved(
                application_id=uuid.uuid4(), account_id=patient, patient_id=patient, tier="full",
                discount_percent=Decimal("100"), poverty_percent=Decimal("150.00"), guidelines_year=2026,
                decided_by="staff-1", approved_by="staff-2", decided_at=NOW,
            ),
        )  # fmt: skip
        mails = await eventually(lambda: when(sink.messages(to=email), lambda ms: len(ms) >= 2), timeout=60)
        texts = await eventually(lambda: when(sink.sms(to=phone), lambda ms: len(ms) >= 2), timeout=30)
        inbox = await get_notifications(client, patient)
    resolved = next(m for m in mails if number in m["subject"])
    assert resolved["text"].startswith(f"Your billing inquiry {number} has been resolved.")
    sms = next(s["body"] for s in texts if number in s["body"])
    assert f"Your billing inquiry {number} has been resolved." in sms
    approved = next(m for m in mails if "assistance" in m["subject"])
    assert "approved" in approved["text"]
    for m in mails:
        _clean(m["subject"], m["text"])
        assert "%" not in m["text"] and "$" not in m["text"]  # no discount, no amount
    for s in texts:
        _clean("", s["body"])
    assert len(mails) == 2 and len(texts) == 2 and len(inbox) == 2  # once per event
