"""Claims' copy of the registry (schema `claims`; PHI stays in this schema).

Migrations own the DDL; this metadata serves the ORM and shared.bulk.insert_many."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class RegistryCopy(SQLModel, table=True):
    """One patient as the registry last announced it: demographics and guarantor
    (patient.updated) and the ordered coverages (coverage.updated), each with its revision."""

    __tablename__ = "registry_copies"

    patient_id: str = Field(primary_key=True)
    patient_revision: int | None = None
    patient: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    guarantor: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    coverage_revision: int | None = None
    coverages: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
