"""Request and response models of the contracts API (fee schedule versions)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class FeeScheduleOut(BaseModel):
    """One version of a payer's fee schedule."""

    fee_schedule_id: uuid.UUID
    payer_id: str
    version: int = Field(description="1, 2, ... per payer, in upload order.")
    effective_date: date = Field(description="Applies to services on or after this date.")
    uploaded_at: datetime
    uploaded_by: str
    entries: int = Field(description="How many rates (code and modifier) it has.")


class Rate(BaseModel):
    code: str
    modifier: str | None
    allowed: Decimal = Field(description="Allowed amount per unit.")


class FeeScheduleVersionOut(FeeScheduleOut):
    """A version with its rates."""

    rates: list[Rate]
