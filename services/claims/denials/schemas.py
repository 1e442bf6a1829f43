"""The denials queue and appeals as the API shows and takes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["correct_and_resubmit", "appeal", "bill_patient", "write_off"]
DenialStatus = Literal["open", "assigned", "resolved"]


class DenialOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: str
    patient_id: str
    reason_code: str
    group_code: str
    adjustments: list[dict[str, Any]]
    remark_codes: list[str]
    action: str
    denied_amount: Decimal
    payer_claim_control_number: str | None
    status: str
    assignee: str | None
    resolution: str | None
    denied_at: datetime
    resolved_at: datetime | None
    age_days: int


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=128)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Literal["corrected", "appealed", "billed_patient", "written_off", "paid"]
    note: str | None = Field(default=None, max_length=500)


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    denial_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the claim's latest open denial."
    )
    facts: list[str] = Field(min_length=1, max_length=20, description="Supporting facts the letter cites.")
    signer: str = Field(default="Billing Office", min_length=1, max_length=100)


class AppealOutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["won", "lost"]
    note: str | None = Field(default=None, max_length=500)


class AppealOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    denial_id: uuid.UUID
    letter: str
    status: str
    outcome_note: str | None
    filed_by: str
    filed_at: datetime
    decided_at: datetime | None
