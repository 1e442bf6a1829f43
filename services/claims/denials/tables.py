"""The denials work queue and appeals (schema `claims`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from services.claims.claims.tables import timestamp_column


class Denial(SQLModel, table=True):
    """A denied (or partly denied) claim in the work queue."""

    __tablename__ = "denials"

    id: UUID = Field(primary_key=True)
    claim_id: UUID = Field(index=True)
    payer_id: str
    patient_id: str
    reason_code: str
    group_code: str
    adjustments: list[Any] = Field(sa_column=Column(JSONB, nullable=False))
    remark_codes: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    action: str
    why: str | None = None  # why that action, naming the codes that decided it (None before it was kept)
    denied_amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    payer_claim_control_number: str | None = None
    status: str = "open"
    assignee: str | None = None
    resolution: str | None = None
    denied_at: datetime = timestamp_column(False)
    resolved_at: datetime | None = timestamp_column()


class Appeal(SQLModel, table=True):
    """An appeal of a denial, with the letter sent, tracked to its outcome."""

    __tablename__ = "appeals"

    id: UUID = Field(primary_key=True)
    claim_id: UUID = Field(index=True)
    denial_id: UUID
    letter: str
    status: str = "filed"
    outcome_note: str | None = None
    filed_by: str
    filed_at: datetime = timestamp_column(False)
    decided_at: datetime | None = timestamp_column()
