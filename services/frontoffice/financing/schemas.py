"""What the financing endpoints take and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.payloads import Id
from shared.money import PositiveMoney


class ReferralIn(BaseModel):
    """Refer a balance to a financing partner. The account defaults to the patient's."""

    model_config = ConfigDict(extra="forbid")

    patient_id: Id
    account_id: Id | None = Field(default=None, description="Defaults to `patient_id`.")
    partner_id: Id = Field(description="The financing partner (e.g. `financing`).")
    amount: PositiveMoney = Field(
        description="The balance to finance, as staff confirmed it with the patient."
    )
    note: str | None = Field(default=None, max_length=500)


class ReferralOut(BaseModel):
    """A referral as recorded (and as the export lists it)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: str
    account_id: str
    partner_id: str
    amount: Decimal
    note: str | None = None
    referred_by: str
    referred_at: datetime
