"""Request and response models of disputes (the export answers CSV or its own JSON document)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="What the patient disputes, in words.")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(min_length=1, max_length=500, description="How it was settled.")


class DisputeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    account_id: str
    reason: str
    opened_by: str
    opened_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    source_id: uuid.UUID | None = Field(
        default=None, description="The front office's dispute ticket that opened it (null: opened here)."
    )
