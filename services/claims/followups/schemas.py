"""A claim waiting past its payer's window, as the follow-up list shows it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


class FollowupOut(BaseModel):
    claim_id: uuid.UUID
    patient_id: str  # what the audit records for the worklist's read (issue 17)
    patient_control_number: str
    payer_id: str
    status: str
    total_charge: Decimal
    submitted_at: datetime
    due_at: datetime
    days_outstanding: int
    notified: bool


class StatusAnswerOut(BaseModel):
    """One answer a payer or clearinghouse gave about the claim (277 X212, 277CA, 999, TA1)."""

    source: str
    category_code: str = Field(description="STC01-1 (code list 507), or the acknowledgment's code.")
    status_code: str | None = Field(default=None, description="STC01-2 (code list 508).")
    entity_code: str | None = None
    description: str
    effective_date: date | None = Field(default=None, description="STC02.")
    payer_claim_control_number: str | None = None
    total_charge: Decimal | None = None
    paid_amount: Decimal | None = Field(default=None, description="STC05: what the payer says it paid.")
    codes: list[dict[str, Any]] = Field(default_factory=list)
    received_at: datetime
