"""Escalation: a ticket still open past its due time is marked breached, once per level, and
ticket.escalated goes (through the outbox, in the same transaction) to the category's
escalation contact; at level 2 to the senior contact."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.servicelevels import domain, store
from services.frontoffice.settings import FrontofficeSettings
from services.frontoffice.tickets.tables import Ticket, TicketNote
from shared.events import new_event
from shared.events.frontoffice import TicketEscalated
from shared.outbox import add_events


def contact_for(settings: FrontofficeSettings, category: str, level: int) -> str:
    """Who answers for a breached ticket of `category` at `level`."""
    if level >= domain.MAX_LEVEL:
        return settings.senior_escalation_contact
    return settings.escalation_contacts.get(category, settings.escalation_contact)


def escalate(ticket: Ticket, settings: FrontofficeSettings, now: datetime) -> TicketEscalated:
    """Raise the ticket one level (marks it; the caller stages the event and the note)."""
    checked = ticket.next_check_at or ticket.due_at
    level = ticket.breach_level + 1
    ticket.breach_level = level
    ticket.breached_at = ticket.breached_at or now
    ticket.escalated_to = contact_for(settings, ticket.category, level)
    ticket.next_check_at = domain.next_check(ticket.category, checked, level)
    ticket.updated_at = now
    return TicketEscalated(
        ticket_id=ticket.id,
        number=ticket.number,
        category=ticket.category,  # type: ignore[arg-type]
        assignee_id=ticket.assignee_id,
        escalated_to=ticket.escalated_to,
        level=level,
        due_at=ticket.due_at,
        breached_at=now,
    )


async def escalate_due(session: AsyncSession, settings: FrontofficeSettings, now: datetime) -> int:
    """One round: every open ticket whose next check is due is escalated one level; returns how
    many. Runs in the caller's transaction (the rows stay locked until it commits)."""
    tickets = await store.take_breached(session, now, settings.breach_batch)
    events = []
    for ticket in tickets:
        payload = escalate(ticket, settings, now)
        session.add(ticket)
        session.add(
            TicketNote(
                id=uuid.uuid4(),
                ticket_id=ticket.id,
                kind="escalated",
                body=f"level {payload.level} to {payload.escalated_to}",
                author="service-level",
                created_at=now,
            )
        )
        events.append(new_event(payload))
    await add_events(session, events)
    return len(tickets)
