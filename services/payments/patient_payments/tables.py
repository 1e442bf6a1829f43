"""The tables the patient-payments sub-domain owns: payments and their refunds. What a
payment paid is not a table: each of its ledger rows carries the item it paid."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlmodel import Field, SQLModel


class PatientPayment(SQLModel, table=True):
    """Money a patient paid toward an account."""

    __tablename__ = "patient_payments"

    id: UUID = Field(primary_key=True)
    account_id: str = Field(index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    method: str
    reference: str | None = None
    # Card payments: the processor's settlement batch (what the bank's deposit names).
    settlement_batch: str | None = None
    receipt_number: str = Field(unique=True)
    posted_by: str
    posted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Refund(SQLModel, table=True):
    """Money given back from a payment (at most what is left of it)."""

    __tablename__ = "refunds"

    id: UUID = Field(primary_key=True)
    payment_id: UUID = Field(foreign_key="patient_payments.id")
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    reason: str | None = None
    refunded_by: str
    refunded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
