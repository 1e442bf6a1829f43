"""Our copies of eligibility's authorizations (schema `claims`)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Date
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class AuthorizationCopy(SQLModel, table=True):
    """Our copy of authorization.recorded: the latest state eligibility announced."""

    __tablename__ = "authorization_copies"

    authorization_id: UUID = Field(primary_key=True)
    patient_id: str
    payer_id: str
    number: str
    kind: str
    service_codes: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    service_type_codes: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    end_date: date = Field(sa_column=Column(Date, nullable=False))
    visits_allowed: int | None = None
    visits_used: int = 0
