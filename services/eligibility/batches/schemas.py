"""The API's models of a batch of coverage checks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.eligibility.checks.schemas import CheckIn

# The most checks one batch may hold, in the schema (maxItems): the input guard and pydantic
# refuse a longer list before looking at any item (a 10 MB batch once took two minutes of
# per-item validation to be refused). ELIGIBILITY_MAX_BATCH_SIZE may set a lower cap.
MAX_BATCH_SIZE = 5000


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: list[CheckIn] = Field(
        min_length=1,
        max_length=MAX_BATCH_SIZE,
        description=f"Up to ELIGIBILITY_MAX_BATCH_SIZE checks (at most {MAX_BATCH_SIZE}).",
    )


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
