"""The tables the applications sub-domain owns: applications and the documents received."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlmodel import Field, SQLModel


class Application(SQLModel, table=True):
    """An application for assistance on an account, from a screening. `status`: open (collecting
    documents) → decided (one person's decision, waiting for a second) → approved or denied.
    `hold_id` names the collections hold it placed when opened."""

    __tablename__ = "assistance_applications"

    id: UUID = Field(primary_key=True)
    patient_id: str
    account_id: str
    screening_id: UUID
    status: str = "open"
    hold_id: UUID
    decision: str | None = None
    tier: str | None = None
    discount_percent: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 2)))
    decision_note: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    approved_by: str | None = None
    approved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    approval_note: str | None = None
    created_by: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ApplicationDocument(SQLModel, table=True):
    """A document received for an application: what it was and when (metadata only; the
    paper or file stays where the practice keeps it)."""

    __tablename__ = "assistance_documents"

    id: UUID = Field(primary_key=True)
    application_id: UUID
    kind: str
    received_date: date
    note: str | None = None
    recorded_by: str
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
