"""Response model of an account hold (shown on the account's GET)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class HoldOut(BaseModel):
    """Something the front office holds the account for, until it releases it."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID = Field(description="The front office's hold id.")
    reason: Literal["dispute", "financial_assistance", "financing"]
    source_id: uuid.UUID = Field(description="The ticket, assistance application or financing referral.")
    holds_statements: bool = Field(description="No statement or dunning step while it lasts.")
    holds_collections: bool = Field(description="No final notice or referral to collections while it lasts.")
    placed_at: datetime
