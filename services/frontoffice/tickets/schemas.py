"""Request and response models of the tickets API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.frontoffice.tickets.domain import ResolutionCode, Status
from shared.events.frontoffice import TicketCategory
from shared.events.payloads import Id

Channel = Literal["phone", "email", "portal"]
RequesterKind = Literal["patient", "practice"]


class TicketIn(BaseModel):
    """A new billing inquiry. `subject` and `description` are free text and may hold PHI: they
    are stored and shown to staff with `tickets:read`, never logged or put in an event."""

    model_config = ConfigDict(extra="forbid")

    requester_kind: RequesterKind = Field(description="Who asks: a patient, or a client practice.")
    requester_id: Id = Field(description="The patient's id (the registry's), or the practice's id.")
    patient_id: Id | None = Field(
        default=None,
        description="The patient the inquiry concerns; taken from `requester_id` when a patient asks.",
    )
    channel: Channel
    category: TicketCategory
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    account_id: Id | None = Field(
        default=None, description="The account it concerns; the patient's account (its id) when omitted."
    )
    claim_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    statement_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _patient(self) -> TicketIn:
        if self.requester_kind == "patient":
            if self.patient_id not in (None, self.requester_id):
                raise ValueError("patient_id must be the requester when a patient asks")
            self.patient_id = self.requester_id
        if self.account_id is None:
            self.account_id = self.patient_id
        return self


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee_id: Id = Field(description="The staff member (a notifications recipient id) who works it.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=10_000, description="Free text; may hold PHI.")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "waiting_on_patient", "waiting_on_payer", "closed"] = Field(
        description="The move to make; `open` from `resolved` reopens. Resolve with /resolve."
    )


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution_code: ResolutionCode
    note: str | None = Field(
        default=None, max_length=10_000, description="How it was resolved; may hold PHI."
    )


class HoldOut(BaseModel):
    id: uuid.UUID
    account_id: str
    reason: str
    holds_statements: bool
    holds_collections: bool
    placed_at: datetime
    released_at: datetime | None
    outcome: str | None


class NoteOut(BaseModel):
    id: uuid.UUID
    kind: str = Field(
        description="note, created, assigned, status, resolved, escalated, hold_placed, hold_released"
    )
    body: str | None
    author: str
    created_at: datetime


class TicketSummary(BaseModel):
    """A ticket as a list shows it (no free text)."""

    id: uuid.UUID
    number: str = Field(examples=["T-000123"])
    requester_kind: RequesterKind
    requester_id: str
    patient_id: str | None
    channel: Channel
    category: TicketCategory
    status: Status
    assignee_id: str | None
    account_id: str | None
    due_at: datetime
    breach_level: int = Field(description="0 within its service level; 1 or 2 once escalated.")
    resolution_code: str | None
    created_at: datetime
    resolved_at: datetime | None


class TicketOut(TicketSummary):
    """A ticket with its text, links, notes and history, and the hold it placed."""

    subject: str
    description: str
    claim_ids: list[uuid.UUID]
    statement_ids: list[uuid.UUID]
    escalated_to: str | None
    breached_at: datetime | None
    resolution_note: str | None
    closed_at: datetime | None
    updated_at: datetime
    holds: list[HoldOut]
    notes: list[NoteOut]


class ResolutionOut(BaseModel):
    code: str
    description: str


class TicketFilters(BaseModel):
    """Filters of the ticket list."""

    status: Status | None = None
    category: TicketCategory | None = None
    assignee_id: Id | None = None
    account_id: Id | None = None
