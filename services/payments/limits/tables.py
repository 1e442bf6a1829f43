"""The table the money limits own: one append-only row per version of the practice's limits
(the newest is in force; before the first, the settings' defaults are)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, DateTime, Identity, Numeric
from sqlmodel import Field, SQLModel


class MoneyLimitVersion(SQLModel, table=True):
    """A version of the limits: who set them and when (the audit log has the request too)."""

    __tablename__ = "money_limits"

    version: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    patient_payment: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    insurer_payment: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    refund: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    write_off: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    approval_threshold: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    changed_by: str
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
