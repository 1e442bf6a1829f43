"""The table the statements sub-domain owns (one statement per account and date)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class Statement(SQLModel, table=True):
    """What the patient was told they owe on a date; `content` keeps the lines as issued."""

    __tablename__ = "statements"

    id: UUID = Field(primary_key=True)
    account_id: str
    statement_date: date
    due_date: date
    amount_due: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    content: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    late_notified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
