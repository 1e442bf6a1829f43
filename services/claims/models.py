"""Claims tables (schema `claims`): claims, their append-only status history, denials, appeals,
and the service's own copies of eligibility and authorization events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Date, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _money(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Numeric(14, 2), nullable=nullable))


def _ts(nullable: bool = True) -> Any:
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
    paid_amount: Decimal | None = _money()
    allowed_amount: Decimal | None = _money()
    patient_responsibility: Decimal | None = _money()
    adjudication: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    created_by: str
    created_at: datetime = _ts(False)
    updated_at: datetime = _ts(False)
    first_submitted_at: datetime | None = _ts()
    submitted_at: datetime | None = _ts()
    adjudicated_at: datetime | None = _ts()
    followup_published_at: datetime | None = _ts()


class StatusChange(SQLModel, table=True):
    """Append-only: every status a claim had, when, and who or what moved it."""

    __tablename__ = "claim_status_history"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: UUID = Field(index=True)
    from_status: str | None = None
    to_status: str
    actor: str
    reason: str | None = None
    changed_at: datetime = _ts(False)


class EligibilityCopy(SQLModel, table=True):
    """Our copy of eligibility.checked (the scrubber reads coverage from here)."""

    __tablename__ = "eligibility_copies"

    check_id: UUID = Field(primary_key=True)
    patient_id: str
    payer_id: str
    status: str
    date_of_service: date = Field(sa_column=Column(Date, nullable=False))
    coverage_start: date | None = Field(default=None, sa_column=Column(Date))
    coverage_end: date | None = Field(default=None, sa_column=Column(Date))
    other_payers: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    prior_auth_service_types: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    checked_at: datetime = _ts(False)


class AuthorizationCopy(SQLModel, table=True):
    """Our copy of authorization.recorded."""

    __tablename__ = "authorization_copies"

    authorization_id: UUID = Field(primary_key=True)
    patient_id: str
    payer_id: str
    number: str
    kind: str
    service_codes: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    end_date: date = Field(sa_column=Column(Date, nullable=False))
    visits_allowed: int | None = None
    visits_used: int = 0


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
    denied_amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    payer_claim_control_number: str | None = None
    status: str = "open"
    assignee: str | None = None
    resolution: str | None = None
    denied_at: datetime = _ts(False)
    resolved_at: datetime | None = _ts()


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
    filed_at: datetime = _ts(False)
    decided_at: datetime | None = _ts()
