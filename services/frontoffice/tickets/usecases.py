"""The tickets' use cases: open, read, list, assign, note, move, resolve — and the dispute hold
that opening and resolving place and release. The routes call these; the caller commits.

Every state change writes its history line and its events (ticket.assigned, ticket.resolved,
account_hold.placed/released) in the caller's transaction, through the outbox: a rolled-back
change publishes nothing. No event carries the ticket's free text.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.holds import domain as holds
from services.frontoffice.servicelevels import domain as sla
from services.frontoffice.tickets import domain, store
from services.frontoffice.tickets.schemas import (
    AssignIn,
    HoldOut,
    NoteOut,
    ResolveIn,
    TicketFilters,
    TicketIn,
    TicketOut,
    TicketSummary,
)
from services.frontoffice.tickets.tables import Ticket, TicketHold, TicketNote
from shared.events import new_event
from shared.events.frontoffice import TicketAssigned, TicketResolved
from shared.outbox import add_event
from shared.paging import CursorPage, DateRange, PageQuery
from shared.problems import ProblemError


def now() -> datetime:
    return datetime.now(UTC)


def _note(ticket: Ticket, kind: str, author: str, at: datetime, body: str | None = None) -> TicketNote:
    return TicketNote(
        id=uuid.uuid4(), ticket_id=ticket.id, kind=kind, body=body, author=author, created_at=at
    )


async def create(session: AsyncSession, body: TicketIn, actor: str) -> Ticket:
    """A new ticket, due by its category's service level; a dispute on an account holds it."""
    at = now()
    due = sla.due_at(body.category, at)
    ticket = Ticket(
        id=uuid.uuid4(),
        number=domain.ticket_number(await store.next_number(session)),
        **body.model_dump(),
        status="new",
        due_at=due,
        next_check_at=due,
        created_by=actor,
        created_at=at,
        updated_at=at,
    )
    store.add(session, ticket, _note(ticket, "created", actor, at))
    await session.flush()
    if domain.holds_account(ticket.category, ticket.account_id):
        await place_hold(session, ticket, actor, at)
    return ticket


async def place_hold(session: AsyncSession, ticket: Ticket, actor: str, at: datetime) -> TicketHold:
    """Hold the dispute's account from statements and collections (account_hold.placed)."""
    assert ticket.account_id is not None
    held = holds.HELD["dispute"]
    hold = TicketHold(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        account_id=ticket.account_id,
        reason="dispute",
        holds_statements=held.statements,
        holds_collections=held.collections,
        placed_at=at,
    )
    store.add(session, hold, _note(ticket, "hold_placed", actor, at))
    event = holds.placed(
        "dispute",
        hold_id=hold.id,
        account_id=hold.account_id,
        patient_id=ticket.patient_id,
        source_id=ticket.id,
        at=at,
    )
    add_event(session, new_event(event))
    return hold


async def release_hold(session: AsyncSession, ticket: Ticket, outcome: str, actor: str, at: datetime) -> None:
    """End the ticket's active hold, if any (account_hold.released with the outcome)."""
    hold = await store.active_hold(session, ticket.id)
    if hold is None:
        return
    hold.released_at, hold.outcome = at, outcome
    store.add(session, hold, _note(ticket, "hold_released", actor, at, outcome))
    event = holds.released(
        "dispute", hold_id=hold.id, account_id=hold.account_id, source_id=ticket.id, outcome=outcome, at=at
    )
    add_event(session, new_event(event))


async def get_ticket(session: AsyncSession, ticket_id: uuid.UUID, *, lock: bool = False) -> Ticket:
    """The ticket, or a 404 (the load-or-404 of every /tickets/{id} route)."""
    ticket = await store.get(session, ticket_id, lock=lock)
    if ticket is None:
        raise ProblemError(404, "not-found", "Not found", "No such ticket.")
    return ticket


async def describe(session: AsyncSession, ticket: Ticket) -> TicketOut:
    notes = [NoteOut.model_validate(n, from_attributes=True) for n in await store.notes(session, ticket.id)]
    holds = [HoldOut.model_validate(h, from_attributes=True) for h in await store.holds(session, ticket.id)]
    return TicketOut.model_validate({**ticket.model_dump(), "notes": notes, "holds": holds})


async def list_tickets(
    session: AsyncSession, filters: TicketFilters, dates: DateRange, page: PageQuery
) -> CursorPage[TicketSummary]:
    rows, cursor = await store.listed_page(session, filters, dates, page)
    items = [TicketSummary.model_validate(t, from_attributes=True) for t in rows]
    return CursorPage[TicketSummary](items=items, next_cursor=cursor)


def _conflict(ticket: Ticket, what: str) -> ProblemError:
    return ProblemError(
        409, "ticket-state", "Not allowed in the ticket's status", f"A {ticket.status} ticket cannot {what}."
    )


async def assign(session: AsyncSession, ticket: Ticket, body: AssignIn, actor: str) -> None:
    """(Re)assign an open ticket; a new one opens. The assignee hears of it (ticket.assigned)."""
    if ticket.status not in domain.OPEN_STATUSES:
        raise _conflict(ticket, "be assigned")
    at = now()
    ticket.assignee_id = body.assignee_id
    if ticket.status == "new":
        ticket.status = "open"
    store.add(session, _note(ticket, "assigned", actor, at, body.assignee_id))
    await store.touch(session, ticket, at)
    add_event(
        session,
        new_event(
            TicketAssigned(
                ticket_id=ticket.id,
                number=ticket.number,
                category=ticket.category,  # type: ignore[arg-type]
                assignee_id=body.assignee_id,
                assigned_by=actor,
                due_at=ticket.due_at,
                assigned_at=at,
            )
        ),
    )


async def add_note(session: AsyncSession, ticket: Ticket, body: str, actor: str) -> TicketNote:
    at = now()
    note = _note(ticket, "note", actor, at, body)
    store.add(session, note)
    await store.touch(session, ticket, at)
    return note


async def move(session: AsyncSession, ticket: Ticket, target: str, actor: str) -> None:
    """A status change by the state machine. Reopening restarts the service level's clock (a
    new due time, no breach yet) and a reopened dispute holds its account again."""
    if not domain.can_move(ticket.status, target):
        raise _conflict(ticket, f"move to {target}")
    at = now()
    reopened = domain.is_reopen(ticket.status, target)
    store.add(session, _note(ticket, "status", actor, at, f"{ticket.status} -> {target}"))
    ticket.status = target
    if reopened:
        ticket.resolution_code = ticket.resolution_note = ticket.resolved_at = None
        ticket.due_at = ticket.next_check_at = sla.due_at(ticket.category, at)
        ticket.breach_level, ticket.breached_at, ticket.escalated_to = 0, None, None
        if domain.holds_account(ticket.category, ticket.account_id):
            await place_hold(session, ticket, actor, at)
    elif target == "closed":
        ticket.closed_at = at
    await store.touch(session, ticket, at)


async def resolve(session: AsyncSession, ticket: Ticket, body: ResolveIn, actor: str) -> None:
    """Resolve with a code: the service level stops, a dispute's hold is released, and the
    requester hears of it (ticket.resolved; notifications tells a patient, without PHI)."""
    if not domain.can_resolve(ticket.status):
        raise _conflict(ticket, "be resolved")
    at = now()
    store.add(session, _note(ticket, "resolved", actor, at, body.resolution_code))
    ticket.status, ticket.resolution_code, ticket.resolution_note = (
        "resolved",
        body.resolution_code,
        body.note,
    )
    ticket.resolved_at, ticket.next_check_at = at, None
    await store.touch(session, ticket, at)
    await session.flush()
    await release_hold(session, ticket, body.resolution_code, actor, at)
    add_event(
        session,
        new_event(
            TicketResolved(
                ticket_id=ticket.id,
                number=ticket.number,
                category=ticket.category,  # type: ignore[arg-type]
                requester_kind=ticket.requester_kind,  # type: ignore[arg-type]
                requester_id=ticket.requester_id,
                account_id=ticket.account_id,
                patient_id=ticket.patient_id,
                channel=ticket.channel,  # type: ignore[arg-type]
                resolution_code=body.resolution_code,
                resolved_at=at,
            )
        ),
    )
