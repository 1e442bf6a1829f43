"""Request and response models of the contracts API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel


class FeeScheduleOut(BaseModel):
    fee_schedule_id: uuid.UUID
    payer_id: str
    effective_date: date
    entries: int


class UnderpaymentOut(BaseModel):
    id: uuid.UUID
    posting_id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: str
    code: str
    modifier: str
    units: Decimal
    expected_allowed: Decimal
    actual_allowed: Decimal
    variance: Decimal
    detected_at: datetime
