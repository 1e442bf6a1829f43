"""What the applications endpoints take and answer."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.frontoffice.assistance.schemas import TierName
from shared.events.payloads import Id

DocumentKind = Literal["pay_stub", "tax_return", "benefits_letter", "attestation"]
Status = Literal["open", "decided", "approved", "denied"]


class ApplicationIn(BaseModel):
    """Open an application from a screening. The account defaults to the patient's."""

    model_config = ConfigDict(extra="forbid")

    patient_id: Id
    account_id: Id | None = Field(
        default=None, description="Defaults to `patient_id` (the patient's account)."
    )
    screening_id: uuid.UUID


class DocumentIn(BaseModel):
    """A document received (its metadata; no file is stored)."""

    model_config = ConfigDict(extra="forbid")

    kind: DocumentKind
    received_date: date
    note: str | None = Field(default=None, max_length=500)


class DocumentOut(DocumentIn):
    """A document as recorded."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recorded_by: str
    recorded_at: datetime


class DecisionIn(BaseModel):
    """One person's decision. `tier` defaults to the screening's; another tier of the same
    policy needs a `note` saying why."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "deny"]
    tier: TierName | None = None
    note: str | None = Field(default=None, max_length=500)


class ApprovalIn(BaseModel):
    """The second person's answer: `approve: true` makes the decision final; `false` sends it
    back (the application is open again, its hold stays)."""

    model_config = ConfigDict(extra="forbid")

    approve: bool = True
    note: str | None = Field(default=None, max_length=500)


class ApplicationOut(BaseModel):
    """An application with its documents and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: str
    account_id: str
    screening_id: uuid.UUID
    status: Status
    hold_id: uuid.UUID
    decision: Literal["approve", "deny"] | None = None
    tier: str | None = None
    discount_percent: Decimal | None = None
    decision_note: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    approved_by: str | None = Field(default=None, description="The second person (never the decider).")
    approved_at: datetime | None = None
    approval_note: str | None = None
    created_by: str
    created_at: datetime
    documents: list[DocumentOut] = Field(default_factory=list)
