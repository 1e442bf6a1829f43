"""What the assistance endpoints take and answer: guideline years, policy versions, screenings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.payloads import Id
from shared.money import Money, PositiveMoney

Region = Literal["contiguous", "AK", "HI"]
GuidelineAmount = PositiveMoney
Percent = Annotated[Decimal, Field(ge=0, max_digits=7, decimal_places=2)]
DiscountPercent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
TierName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")]


class GuidelineColumn(BaseModel):
    """One column of the HHS table: households of 1, 2, ... and the amount per extra person."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, max_length=80)
    sizes: list[GuidelineAmount] = Field(
        min_length=1, max_length=20, description="Guideline for a household of 1, 2, ... (HHS prints 8)."
    )
    additional_person: GuidelineAmount = Field(description="Added per person beyond the last size.")


class GuidelinesIn(BaseModel):
    """A year of the Federal Poverty Guidelines (the file format of services/frontoffice/data)."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    effective_date: date = Field(description="Screenings dated on or after it use this year.")
    source: str = Field(min_length=1, max_length=500, description="Where the figures come from.")
    regions: dict[Region, GuidelineColumn] = Field(
        description="`contiguous` (48 states and DC) is required; `AK` and `HI` have their own columns."
    )


class GuidelinesOut(GuidelinesIn):
    """A loaded year."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    loaded_by: str
    loaded_at: datetime


class TierIn(BaseModel):
    """One tier of the sliding scale: up to (and including) a percent of the guideline."""

    model_config = ConfigDict(extra="forbid")

    tier: TierName
    up_to_percent: Percent | None = Field(description="Inclusive upper bound; null on the last tier = open.")
    discount_percent: DiscountPercent


class PolicyIn(BaseModel):
    """A new version of the practice's tiers, in ascending order of their bounds."""

    model_config = ConfigDict(extra="forbid")

    effective_date: date
    tiers: list[TierIn] = Field(min_length=1, max_length=12)
    note: str | None = Field(default=None, max_length=500)


class PolicyOut(PolicyIn):
    """A policy version as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    set_by: str
    set_at: datetime


class ScreeningIn(BaseModel):
    """A household to screen. Income is the household's gross annual income (sensitive)."""

    model_config = ConfigDict(extra="forbid")

    patient_id: Id | None = None
    household_size: int = Field(ge=1, le=50)
    annual_income: Money = Field(description="Gross annual household income, a decimal string (sensitive).")
    state: str = Field(pattern=r"^[A-Z]{2}$", description="USPS code; AK and HI use their own guideline.")
    screening_date: date


class ScreeningWhy(BaseModel):
    """Why the household got its tier: the guideline used and the tier's bounds."""

    guidelines_year: int
    region: Region
    household_size: int
    guideline_amount: Decimal
    policy_id: uuid.UUID
    policy_effective_date: date
    tier_above_percent: Decimal | None = Field(description="Exclusive lower bound; null: from 0 %.")
    tier_up_to_percent: Decimal | None = Field(description="Inclusive upper bound; null: open.")
    explanation: str


class ScreeningOut(BaseModel):
    """A screening's result."""

    id: uuid.UUID
    patient_id: str | None
    household_size: int
    annual_income: Decimal
    state_region: Region
    screening_date: date
    poverty_percent: Decimal
    tier: str
    discount_percent: Decimal
    why: ScreeningWhy
    screened_by: str
    screened_at: datetime
