"""The directory's tables: `recipients` (contact channels, staff roles and payer subscriptions)
and `preferences` (per category and channel opt-in/out and quiet hours)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Column, DateTime, Text, Time
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
