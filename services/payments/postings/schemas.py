"""Request and response models of the unmatched queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class UnmatchedOut(BaseModel):
    id: uuid.UUID
    remittance_id: uuid.UUID
    patient_control_number: str
    payer_claim_control_number: str | None
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
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
