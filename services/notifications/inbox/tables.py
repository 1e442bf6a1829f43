"""`inbox_messages`: one notification per (cause event, recipient, template). It is the in-app
message and the anchor of its deliveries' history."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class InboxMessage(SQLModel, table=True):
    """A notification: the in-app message. One per (cause event, recipient, template)."""

    __tablename__ = "inbox_messages"

    id: UUID = Field(primary_key=True)
    recipient_id: str = Field(index=True)
    template: str
    template_version: int
    subject: str
    body: str
    cause_event_id: UUID
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    category: str | None = None
    cause_event_type: str | None = None
    required: bool = False
