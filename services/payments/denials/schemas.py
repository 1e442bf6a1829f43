"""Request and response models of the denied balances."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.money import PositiveMoney


class DeniedAdjustment(BaseModel):
    group_code: str
    reason_code: str
    amount: Decimal


class DeniedItemOut(BaseModel):
    """A claim's denied balance: what its standing 835 postings denied, and what is still open."""

    claim_id: uuid.UUID
    account_id: str
    payer_id: str
    service_date: date | None
    insurance_balance: Decimal = Field(description="What the claim still has with insurance.")
    denied_open: Decimal = Field(description="Denied and not worked yet.")
    patient_billable: Decimal = Field(description="What of it may be billed to the patient (group PR).")
    denials: list[DeniedAdjustment]


class BillPatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500, description="Why (kept in the audit of the work).")


class WriteOffIn(BaseModel):
    """A denied balance to write off; a second person approves it before the ledger changes."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500, description="Why it is written off (for the approver).")
    amount: PositiveMoney | None = Field(default=None, description="Default: all that is denied and open.")


class Worked(BaseModel):
    """A denied balance worked: it left insurance A/R, and claims was told (denial.resolved)."""

    claim_id: uuid.UUID
    account_id: str
    resolution: Literal["written_off", "billed_patient"]
    amount: Decimal
    resolved_at: datetime
