"""The registry's table (schema `claims`). Migrations own the DDL; this metadata serves the ORM."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class Provider(SQLModel, table=True):
    """One NPI of the practice: an organization or a person, and what claims need of it."""

    __tablename__ = "providers"

    id: UUID = Field(primary_key=True)
    npi: str = Field(unique=True, max_length=10)
    entity_type: str
    name: str
    first_name: str | None = None
    taxonomy: str | None = None
    tax_id: str | None = None
    tax_id_type: str | None = None
    address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    created_by: str
    updated_by: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
