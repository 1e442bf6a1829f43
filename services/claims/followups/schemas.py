"""A claim waiting past its payer's window, as the follow-up list shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


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
