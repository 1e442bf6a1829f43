"""Request and response models of the unmatched queue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Person(BaseModel):
    """A person the 835 names (PHI: shown to staff working the queue, never logged)."""

    last_name: str
    first_name: str
    member_id: str


class AdjustmentOut(BaseModel):
    group_code: str
    reason_code: str
    amount: Decimal


class ParkedLine(BaseModel):
    code: str
    modifiers: list[str]
    charge: Decimal
    paid: Decimal
    service_date: date | None = Field(description="DTM*472 of the service line.")
    adjustments: list[AdjustmentOut]


class UnmatchedOut(BaseModel):
    """A remittance claim waiting for its claim, with what a person needs to find it."""

    id: uuid.UUID
    remittance_id: uuid.UUID
    payer_id: str = Field(description="The remittance's payer: only that payer's claims can be matched.")
    trace_number: str = Field(description="TRN02 of the remittance (check or EFT trace).")
    remittance_date: date | None = Field(description="BPR16, the check or EFT date.")
    patient_control_number: str
    payer_claim_control_number: str | None
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    adjustments: list[AdjustmentOut] = Field(description="Claim and line CAS, summed by group and reason.")
    patient: Person | None = Field(description="Loop 2100 NM1*QC.")
    subscriber: Person | None = Field(description="Loop 2100 NM1*IL (the insured), where present.")
    service_date_from: date | None = Field(description="DTM*232, else the first line's DTM*472.")
    service_date_to: date | None = Field(description="DTM*233, else the last line's DTM*472.")
    lines: list[ParkedLine]
    reason: str
    created_at: datetime
    resolved_posting_id: uuid.UUID | None
    resolved_at: datetime | None


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_id: uuid.UUID = Field(description="The claim (from claim.submitted) this remittance claim pays.")


class MatchOut(BaseModel):
    unmatched_id: uuid.UUID
    posting_id: uuid.UUID
    claim_id: uuid.UUID
