"""Request and response models of matching by hand."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_id: uuid.UUID = Field(description="The claim (from claim.submitted) this remittance claim pays.")
    override_reason: str | None = Field(
        default=None,
        min_length=10,
        max_length=500,
        description="Only to match a claim of another payer than the remittance's: why. A second person "
        "approves it (`POST /v1/approvals/{id}/approve`) before anything is posted.",
    )


class RemittanceSide(BaseModel):
    """The parked 835 claim (loop 2100 CLP) and its remittance's payer."""

    payer_id: str
    patient_control_number: str = Field(description="CLP01")
    payer_claim_control_number: str | None = Field(description="CLP07")
    status_code: str = Field(description="CLP02")
    charge: Decimal = Field(description="CLP03")
    paid: Decimal = Field(description="CLP04")
    patient_responsibility: Decimal = Field(description="CLP05")


class ClaimSide(BaseModel):
    """The claim chosen, and what is open on it now."""

    claim_id: uuid.UUID
    account_id: str
    payer_id: str
    patient_control_number: str
    coverage_order: str
    charge: Decimal
    insurance_open: Decimal = Field(description="What the claim has with insurance now.")
    patient_open: Decimal = Field(description="What the patient owes on it now.")


class Mismatch(BaseModel):
    field: str
    rule: str
    hard: bool = Field(description="True: refused without an approved override. False: a warning to read.")
    message: str


class MatchCheck(BaseModel):
    """The remittance claim and the claim side by side, and what does not agree."""

    unmatched_id: uuid.UUID
    remittance: RemittanceSide
    claim: ClaimSide
    mismatches: list[Mismatch]
    override_required: bool


class MatchOut(MatchCheck):
    posting_id: uuid.UUID
    claim_id: uuid.UUID
