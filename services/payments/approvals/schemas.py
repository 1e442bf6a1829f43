"""What the approvals endpoints take and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class ApprovalOut(BaseModel):
    """A command waiting for (or decided by) a second person."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(
        description="What it would do, e.g. `adjustment`, `denial_write_off`, `match_override`."
    )
    subject: str = Field(description="What it is about, e.g. the account id.")
    status: ApprovalStatus
    summary: dict[str, Any] = Field(description="What the approver needs to decide: amounts and ids.")
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    result: dict[str, Any] | None = Field(default=None, description="What running the command produced.")


class DecisionIn(BaseModel):
    """An approver's note (optional for approval, recommended for rejection)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500)
