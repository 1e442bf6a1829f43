"""The tables the assistance sub-domain owns: guideline versions, policy versions, screenings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class PovertyGuidelines(SQLModel, table=True):
    """One year of the HHS poverty guidelines, as loaded: `regions` maps a column
    (`contiguous`, `AK`, `HI`) to its `sizes` (households of 1, 2, ...) and
    `additional_person`. A year is loaded once and never edited."""

    __tablename__ = "poverty_guidelines"

    id: UUID = Field(primary_key=True)
    year: int
    effective_date: date
    source: str
    regions: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    loaded_by: str
    loaded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AssistancePolicy(SQLModel, table=True):
    """One version of the practice's tiers, in force from `effective_date` until a later one.
    `tiers`: [{tier, up_to_percent (inclusive, null = open), discount_percent}] ascending."""

    __tablename__ = "assistance_policies"

    id: UUID = Field(primary_key=True)
    effective_date: date
    tiers: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    note: str | None = None
    set_by: str
    set_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Screening(SQLModel, table=True):
    """A household measured against the guideline and policy in force on its date: the inputs
    (income is sensitive: read only through audited routes), the result and why."""

    __tablename__ = "screenings"

    id: UUID = Field(primary_key=True)
    patient_id: str | None = None
    household_size: int
    annual_income: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    region: str
    screening_date: date
    guidelines_id: UUID
    guidelines_year: int
    guideline_amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    poverty_percent: Decimal = Field(sa_column=Column(Numeric(9, 2), nullable=False))
    policy_id: UUID
    tier: str
    discount_percent: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    tier_above_percent: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 2)))
    tier_up_to_percent: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 2)))
    screened_by: str
    screened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
