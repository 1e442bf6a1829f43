"""The API's models of a batch of coverage checks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.eligibility.checks.schemas import CheckIn


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: list[CheckIn] = Field(min_length=1, description="Up to ELIGIBILITY_MAX_BATCH_SIZE checks.")


class BatchResult(BaseModel):
    check_id: uuid.UUID
    patient_id: str
    payer_id: str
    state: str
    status: str | None
    plan_name: str | None = None
    rejection_reason: str | None = None
    follow_up_action: str | None = None
    error_code: str | None = None
    cached: bool = False


class BatchOut(BaseModel):
    id: uuid.UUID
    total: int
    done: int
    failed: int
    pending: int
    complete: bool
    created_at: datetime
    results: list[BatchResult] = Field(default_factory=list)
    links: dict[str, str]
