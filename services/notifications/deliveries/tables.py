"""The deliveries' tables.

- `deliveries`: one row per (cause event, recipient, channel), unique, so a redelivered or
  replayed event can never notify the same person on the same channel twice. The worker sends
  pending rows.
- `delivery_attempts`: every try (append-only history).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, Column, DateTime
from sqlmodel import Field, SQLModel


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
