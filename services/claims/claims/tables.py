"""The claim's tables (schema `claims`): claims and their append-only status history.

Migrations own the DDL; this metadata serves the ORM and shared.bulk.insert_many."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Date, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def money_column(nullable: bool = True) -> Any:
    """A numeric(14,2) column (money), nullable unless said otherwise."""
    return Field(default=None, sa_column=Column(Numeric(14, 2), nullable=nullable))


def timestamp_column(nullable: bool = True) -> Any:
    """A timestamptz column, nullable unless said otherwise."""
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class Claim(SQLModel, table=True):
    """One claim to one payer. `data` is the content the 837P is written from."""

    __tablename__ = "claims"

    id: UUID = Field(primary_key=True)
    patient_control_number: str = Field(unique=True, max_length=17)
    status: str
    patient_id: str
    payer_id: str
    coverage_order: str = "primary"
    frequency_code: str = "1"
    data: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    total_charge: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    date_of_service: date = Field(sa_column=Column(Date, nullable=False))
    encounter_id: str | None = None
    original_claim_id: UUID | None = None
    primary_claim_id: UUID | None = None
    payer_claim_control_number: str | None = None
    x12_837: str | None = None
    scrub: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    first_scrub_clean: bool | None = None
    submission_count: int = 0
    paid_amount: Decimal | None = money_column()
    allowed_amount: Decimal | None = money_column()
    patient_responsibility: Decimal | None = money_column()
    adjudication: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    created_by: str
    created_at: datetime = timestamp_column(False)
    updated_at: datetime = timestamp_column(False)
    first_submitted_at: datetime | None = timestamp_column()
    submitted_at: datetime | None = timestamp_column()
    adjudicated_at: datetime | None = timestamp_column()
    followup_published_at: datetime | None = timestamp_column()
    # The follow-up window counts from the later of submitted_at and this (a pended or
    # finalized 277 answer sets it, so the payer is asked again one window later).
    followup_from: datetime | None = timestamp_column()


class StatusChange(SQLModel, table=True):
    """Append-only: every status a claim had, when, and who or what moved it."""

    __tablename__ = "claim_status_history"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: UUID = Field(index=True)
    from_status: str | None = None
    to_status: str
    actor: str
    reason: str | None = None
    changed_at: datetime = timestamp_column(False)
