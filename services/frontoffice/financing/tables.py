"""The table the financing sub-domain owns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlmodel import Field, SQLModel


class Referral(SQLModel, table=True):
    """A balance referred to a financing partner, as staff confirmed it with the patient."""

    __tablename__ = "financing_referrals"

    id: UUID = Field(primary_key=True)
    patient_id: str
    account_id: str
    partner_id: str
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    note: str | None = None
    referred_by: str
    referred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
