"""Tickets API: open, read, list, assign, note, move and resolve billing inquiries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from services.frontoffice.tickets import domain, usecases
from services.frontoffice.tickets.schemas import (
    AssignIn,
    NoteIn,
    NoteOut,
    ResolutionOut,
    ResolveIn,
    StatusIn,
    TicketFilters,
    TicketIn,
    TicketOut,
    TicketSummary,
)
from services.frontoffice.tickets.tables import Ticket
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, audited_create, idempotent_write
from shared.paging import CursorPage, Dates, Page

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

_READ = require_scopes("tickets:read")
_WRITE = require_scopes("tickets:write")
_read = audited("ticket", "read", _READ)
_assign = audited("ticket", "assign", _WRITE)
_note = audited("ticket", "note", _WRITE)
_move = audited("ticket", "status", _WRITE)
_resolve = audited("ticket", "resolve", _WRITE)

CreateTrail = Annotated[AuditTrail, audited("ticket", "create", _WRITE)]
ListTrail = Annotated[AuditTrail, audited("ticket", "list", _READ)]


def _current_ticket(trail: Any, *, lock: bool) -> Any:
    """Load-or-404 for routes audited by `trail`: the entry names the ticket (also when it is
    missing) and its patient; `lock` takes the row for a change (the route commits)."""

    async def get_current_ticket(
        ticket_id: uuid.UUID, session: SessionDep, audit: AuditTrail = trail
    ) -> Ticket:
        audit.resource_id = str(ticket_id)
        ticket = await usecases.get_ticket(session, ticket_id, lock=lock)
        audit.patient_id = ticket.patient_id
        return ticket

    return Depends(get_current_ticket)


TicketToRead = Annotated[Ticket, _current_ticket(_read, lock=False)]
TicketToAssign = Annotated[Ticket, _current_ticket(_assign, lock=True)]
TicketToMove = Annotated[Ticket, _current_ticket(_move, lock=True)]
TicketToResolve = Annotated[Ticket, _current_ticket(_resolve, lock=True)]
AssignTrail = Annotated[AuditTrail, _assign]
NoteTrail = Annotated[AuditTrail, _note]
MoveTrail = Annotated[AuditTrail, _move]
ResolveTrail = Annotated[AuditTrail, _resolve]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    summary="Open a ticket (a billing inquiry, complaint or dispute)",
    description="Numbered T-000123, due by its category's service level. A `dispute` on an account "
    "holds the account from statements and collections until resolved (account_hold.placed). An "
    "optional `Idempotency-Key` (yours alone) makes a retry answer the first ticket.",
)
async def create_ticket(
    body: TicketIn, session: SessionDep, trail: CreateTrail, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    trail.patient_id = body.patient_id

    async def write() -> TicketOut:
        return await usecases.describe(session, await usecases.create(session, body, trail.actor))

    return await audited_create(
        session,
        trail,
        scope="ticket",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
        location="/v1/tickets/{id}",
    )


@router.get(
    "",
    response_model=CursorPage[TicketSummary],
    summary="List tickets, newest first",
    description="Filters combine; `date_from`/`date_to` bound the day the ticket was opened.",
)
async def list_tickets(
    session: SessionDep,
    trail: ListTrail,
    filters: Annotated[TicketFilters, Depends()],
    dates: Dates,
    page: Page,
) -> CursorPage[TicketSummary]:
    listed = await usecases.list_tickets(session, filters, dates, page)
    trail.saw(item.patient_id for item in listed.items)
    return listed


@router.get(
    "/resolution-codes",
    response_model=list[ResolutionOut],
    summary="The resolution codes a ticket may be resolved with",
)
async def resolution_codes(_: Annotated[Any, _READ]) -> list[ResolutionOut]:
    return [ResolutionOut(code=r.code, description=r.description) for r in domain.RESOLUTIONS.values()]


@router.get("/{ticket_id}", response_model=TicketOut, summary="A ticket with its notes, history and holds")
async def get_ticket(ticket: TicketToRead, session: SessionDep) -> TicketOut:
    return await usecases.describe(session, ticket)


@router.post(
    "/{ticket_id}/assign",
    response_model=TicketOut,
    summary="Assign (or reassign) a ticket; a new ticket opens, the assignee is notified",
)
async def assign_ticket(
    ticket: TicketToAssign, body: AssignIn, session: SessionDep, trail: AssignTrail
) -> TicketOut:
    await usecases.assign(session, ticket, body, trail.actor)
    await session.commit()
    return await usecases.describe(session, ticket)


@router.post(
    "/{ticket_id}/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    summary="Add a note (free text, may hold PHI: shown to staff only)",
    description="An optional `Idempotency-Key` (yours alone) makes a retry answer the first note "
    "instead of adding it twice.",
)
async def add_note(
    ticket_id: uuid.UUID,
    body: NoteIn,
    session: SessionDep,
    trail: NoteTrail,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.resource_id = str(ticket_id)

    async def write() -> NoteOut:  # the ticket is loaded and locked inside the key's transaction
        ticket = await usecases.get_ticket(session, ticket_id, lock=True)
        trail.patient_id = ticket.patient_id
        note = await usecases.add_note(session, ticket, body.body, trail.actor)
        return NoteOut.model_validate(note, from_attributes=True)

    outcome = await idempotent_write(
        session,
        scope=f"ticket-note:{ticket_id}",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
    )
    if outcome.replayed:  # the audit entry still names the ticket's patient
        trail.patient_id = (await usecases.get_ticket(session, ticket_id)).patient_id
    return outcome.response()


@router.post(
    "/{ticket_id}/status",
    response_model=TicketOut,
    summary="Move a ticket: open, waiting on the patient or the payer, close; reopen a resolved one",
    description="Moves follow the ticket's state machine (docs/tickets.md); any other move is a 409.",
)
async def move_ticket(
    ticket: TicketToMove, body: StatusIn, session: SessionDep, trail: MoveTrail
) -> TicketOut:
    await usecases.move(session, ticket, body.status, trail.actor)
    await session.commit()
    return await usecases.describe(session, ticket)


@router.post(
    "/{ticket_id}/resolve",
    response_model=TicketOut,
    summary="Resolve with a resolution code; a dispute's hold is released, the patient told",
)
async def resolve_ticket(
    ticket: TicketToResolve, body: ResolveIn, session: SessionDep, trail: ResolveTrail
) -> TicketOut:
    await usecases.resolve(session, ticket, body, trail.actor)
    await session.commit()
    return await usecases.describe(session, ticket)
