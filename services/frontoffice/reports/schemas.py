"""The ticket report's shape."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from shared.events.frontoffice import TicketCategory


class AgeRow(BaseModel):
    """Open tickets of one category by age (whole days since opened)."""

    category: TicketCategory
    days_0_2: int = Field(alias="0-2", serialization_alias="0-2")
    days_3_7: int = Field(alias="3-7", serialization_alias="3-7")
    days_8_30: int = Field(alias="8-30", serialization_alias="8-30")
    days_over_30: int = Field(alias=">30", serialization_alias=">30")
    total: int


class BreachRow(BaseModel):
    category: TicketCategory
    breaches: int = Field(description="Tickets first breached in the range.")
    still_open: int = Field(description="Of those, how many are still open.")


class ResolveRow(BaseModel):
    category: TicketCategory
    resolved: int = Field(description="Tickets resolved in the range.")
    median_hours: float | None = Field(description="Median time from opening to resolution, in hours.")


class TicketReport(BaseModel):
    """Open tickets now, by age and category; breaches and time to resolve within the range."""

    date_from: date | None
    date_to: date | None
    open_by_age: list[AgeRow]
    open_total: int
    breaches: list[BreachRow]
    breaches_total: int
    time_to_resolve: list[ResolveRow]
