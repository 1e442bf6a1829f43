"""Response models of what the account's GET shows of assistance and financing."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class FinancingOut(BaseModel):
    """A financing referral: the balance a healthcare-credit partner was asked to finance."""

    model_config = ConfigDict(from_attributes=True)
    referral_id: uuid.UUID
    partner_id: str
    amount: Decimal = Field(description="The amount to finance, as staff confirmed it with the patient.")
    referred_at: datetime
    active: bool = Field(description="Financed now: the account is out of the collections path.")


class AssistanceOut(BaseModel):
    """An approved financial assistance application as posted to the ledger."""

    model_config = ConfigDict(from_attributes=True)
    application_id: uuid.UUID
    tier: str
    discount_percent: Decimal
    base: Decimal = Field(description="What the patient owed when it was posted.")
    amount: Decimal = Field(description="The discount written off (0.00: nothing was owed, no ledger row).")
    posted_at: datetime
