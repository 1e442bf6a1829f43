"""What the claim-status routes answer: an inquiry, where it stands and what the payer said
(codes and descriptions only; the 276 and 277 themselves are raw X12, behind gateway:x12)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class InquiryOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    state: str = Field(description="pending | sent | answered | failed | skipped")
    reason: str | None = Field(default=None, description="Why skipped or failed.")
    mode: str | None = None
    partner_id: str | None = None
    trace_number: str = Field(description="Our 276's TRN02, echoed by the payer's 277.")
    attempts: int
    answer: list[dict[str, Any]] = Field(default_factory=list, description="The 277's STC codes.")
    answer_file_id: uuid.UUID | None = None
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    answered_at: datetime | None = None
