"""Notifications tables (schema `notifications`).

- `recipients` and `preferences`: the directory (contact channels, staff roles and payer
  subscriptions) and per category and channel opt-in/out and quiet hours.
- `inbox_messages`: one notification per (cause event, recipient, template). It is the in-app
  message and the anchor of its deliveries' history.
- `deliveries`: one row per (cause event, recipient, channel), unique, so a redelivered or
  replayed event can never notify the same person on the same channel twice. The worker sends
  pending rows; `delivery_attempts` keeps every try (append-only history).
"""

from __future__ import annotations

from datetime import datetime, time
from uuid import UUID

from sqlalchemy import BigInteger, Column, DateTime, Text, Time
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class Recipient(SQLModel, table=True):
    """A patient (account holder) or a staff member who can be told things."""

    __tablename__ = "recipients"

    id: str = Field(primary_key=True)
    kind: str
    email: str | None = None
    phone: str | None = None
    timezone: str = "UTC"
    roles: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    payer_ids: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Preference(SQLModel, table=True):
    """One recipient's choice for one category on one channel."""

    __tablename__ = "preferences"

    recipient_id: str = Field(primary_key=True)
    category: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    opt_in: bool = True
    quiet_start: time | None = Field(default=None, sa_column=Column(Time))
    quiet_end: time | None = Field(default=None, sa_column=Column(Time))


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


class Delivery(SQLModel, table=True):
    """One channel's copy of a notification, and where its sending stands."""

    __tablename__ = "deliveries"

    id: UUID = Field(primary_key=True)
    notification_id: UUID = Field(index=True)
    recipient_id: str
    channel: str
    address: str | None = None
    template: str
    template_version: int
    subject: str
    body: str
    cause_event_id: UUID
    # pending → sent | failed; suppressed (opted out, no address) never leaves.
    status: str
    reason: str | None = None
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_error: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class DeliveryAttempt(SQLModel, table=True):
    """One try at sending a delivery (append-only history)."""

    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    delivery_id: UUID = Field(index=True)
    attempt: int
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    outcome: str
    error: str | None = None
