"""Response models of the account cycle and an account's dunning history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class CycleResult(BaseModel):
    as_of: date
    installments_due: int = 0
    installments_late: int = 0
    balances_late: int = Field(default=0, description="Past-due statements issued.")
    statements_issued: list[uuid.UUID] = Field(default_factory=list)
    final_notices: list[str] = Field(default_factory=list, description="Accounts given the final notice.")
    sent_to_collections: list[str] = Field(default_factory=list)
    notices: int = Field(default=0, description="Accounts told something (one notice each).")
    accounts: list[str] = Field(default_factory=list, description="The accounts told something.")
    ran: bool = True  # always true since replicas share the cycle; kept for callers


class StepOut(BaseModel):
    sequence_id: uuid.UUID
    step: int
    kind: Literal["statement", "final_notice", "collections"]
    step_date: date
    statement_id: uuid.UUID | None
    plan_id: uuid.UUID | None
    notice_id: uuid.UUID | None
    reason: str | None
    recorded_at: datetime


class NextStep(BaseModel):
    kind: Literal["statement", "final_notice", "collections"]
    on_or_after: date


class DunningOut(BaseModel):
    account_id: str
    status: Literal["none", "active", "paused", "referred", "recalled"] = Field(
        description="referred: with the agency; recalled: taken back from it; paused: a dispute, a "
        "front-office hold (a dispute ticket; an assistance application or financing when the next step "
        "is the final notice or the referral) or an active payment plan holds the sequence; active: in "
        "the sequence; none: not in one."
    )
    next_step: NextStep | None = None
    steps: list[StepOut]
