"""The denials queue and appeals as the API shows and takes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from shared.inputs import MAX_DAYS

Action = Literal["correct_and_resubmit", "appeal", "bill_patient", "write_off", "bill_other_payer"]
DenialStatus = Literal["open", "assigned", "resolved"]


@dataclass(frozen=True)
class DenialFilters:
    """The queue's filters (query parameters); each applies only when given. Without a status,
    the queue is what is not resolved yet."""

    reason: Annotated[str | None, Query(max_length=5, description="CARC reason code.")] = None
    payer_id: Annotated[str | None, Query(max_length=64)] = None
    status: Annotated[DenialStatus | None, Query()] = None
    action: Annotated[Action | None, Query()] = None
    assignee: Annotated[str | None, Query(max_length=128)] = None
    min_age_days: Annotated[int | None, Query(ge=0, le=MAX_DAYS)] = None
    max_age_days: Annotated[int | None, Query(ge=0, le=MAX_DAYS)] = None
    claim_id: Annotated[uuid.UUID | None, Query()] = None


class DenialOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: str
    patient_id: str
    reason_code: str
    group_code: str
    adjustments: list[dict[str, Any]]
    remark_codes: list[str]
    action: str = Field(
        description="Recommended from the group code, CARC and RARC (data/denial_actions.csv): "
        "bill_patient only for PR, write_off only for CO."
    )
    why: str | None = Field(description="Why that action, naming the codes that decided it.")
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
    resolution: Literal[
        "corrected", "appealed", "billed_patient", "written_off", "paid", "billed_other_payer"
    ]
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
