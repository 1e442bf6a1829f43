"""The scrubber's own copies of eligibility checks (schema `claims`), read by the coverage and
prior-authorization edits and by secondary billing. (Authorization copies: the authorizations
sub-domain.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Date
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from services.claims.claims.tables import timestamp_column


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
    checked_at: datetime = timestamp_column(False)
