"""The inbox's response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel

NotificationId = Annotated[uuid.UUID, Path(description="Notification id.")]


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    outcome: str
    error: str | None


class DeliveryOut(BaseModel):
    channel: str
    status: str
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    history: list[AttemptOut] | None = None


class NotificationOut(BaseModel):
    id: uuid.UUID
    recipient_id: str
    category: str | None
    required: bool
    template: str
    template_version: int
    subject: str
    body: str
    cause_event_id: uuid.UUID
    cause_event_type: str | None
    created_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryOut]


class MessageOut(BaseModel):
    id: uuid.UUID
    template: str
    template_version: int
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None
