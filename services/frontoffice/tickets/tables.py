"""Metadata of the tickets' tables (schema `frontoffice`, migration 0003_tickets): `tickets`,
`ticket_notes` (notes and the ticket's own history: assignments, moves, escalations) and
`ticket_holds` (the account hold a dispute placed, and its release). Migrations own the DDL."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


def _moment(nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable)


class Ticket(SQLModel, table=True):
    """A billing inquiry. `subject` and `description` may hold PHI: stored, never logged or
    put in an event."""

    __tablename__ = "tickets"

    id: uuid.UUID = Field(primary_key=True)
    number: str
    requester_kind: str
    requester_id: str
    patient_id: str | None = None
    channel: str
    category: str
    subject: str
    description: str
    account_id: str | None = None
    claim_ids: list[uuid.UUID] = Field(default_factory=list, sa_column=Column(ARRAY(Uuid), nullable=False))
    statement_ids: list[uuid.UUID] = Field(
        default_factory=list, sa_column=Column(ARRAY(Uuid), nullable=False)
    )
    status: str
    assignee_id: str | None = None
    due_at: datetime = Field(sa_column=_moment(False))
    # Service level: breach_level 0 until the first breach; next_check_at is when the breach
    # worker looks again (the due time, then one target later), None once nothing is left.
    breach_level: int = 0
    next_check_at: datetime | None = Field(default=None, sa_column=_moment())
    breached_at: datetime | None = Field(default=None, sa_column=_moment())
    escalated_to: str | None = None
    resolution_code: str | None = None
    resolution_note: str | None = None
    resolved_at: datetime | None = Field(default=None, sa_column=_moment())
    closed_at: datetime | None = Field(default=None, sa_column=_moment())
    created_by: str
    created_at: datetime = Field(sa_column=_moment(False))
    updated_at: datetime = Field(sa_column=_moment(False))


class TicketNote(SQLModel, table=True):
    """A note, or a line of the ticket's history (kind: note, created, assigned, status,
    resolved, escalated, hold_placed, hold_released). Append-only."""

    __tablename__ = "ticket_notes"

    id: uuid.UUID = Field(primary_key=True)
    # Declared so one flush writes the ticket before its notes and holds.
    ticket_id: uuid.UUID = Field(foreign_key="tickets.id")
    kind: str
    body: str | None = None
    author: str
    created_at: datetime = Field(sa_column=_moment(False))


class TicketHold(SQLModel, table=True):
    """An account hold a dispute ticket placed (account_hold.placed) until released."""

    __tablename__ = "ticket_holds"

    id: uuid.UUID = Field(primary_key=True)
    # Declared so one flush writes the ticket before its notes and holds.
    ticket_id: uuid.UUID = Field(foreign_key="tickets.id")
    account_id: str
    reason: str
    holds_statements: bool
    holds_collections: bool
    placed_at: datetime = Field(sa_column=_moment(False))
    released_at: datetime | None = Field(default=None, sa_column=_moment())
    outcome: str | None = None
