"""The claim flags' table (schema `claims`).

Migrations own the DDL; this metadata serves the ORM and shared.bulk.insert_many."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class ClaimFlag(SQLModel, table=True):
    """A coverage change that affects an open claim, and what staff should do about it.
    At most one open flag per claim and kind (a partial unique index)."""

    __tablename__ = "claim_flags"

    id: UUID = Field(primary_key=True)
    claim_id: UUID
    patient_id: str
    payer_id: str
    kind: str
    coverage_id: UUID
    revision: int
    suggested_action: str
    suggested_payer_id: str | None = None
    status: str = "open"
    note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
