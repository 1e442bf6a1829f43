"""Payments tables (schema `payments`): patient payments and the append-only account ledger."""

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
    receipt_number: str = Field(unique=True)
    posted_by: str
    posted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LedgerEntry(SQLModel, table=True):
    """One line of an account's ledger. Charges are positive, payments negative; the
    balance is the sum, never a stored number. Rows are never changed: corrections are
    new entries."""

    __tablename__ = "ledger_entries"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True)
    entry_type: str
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    payment_id: UUID | None = None
    description: str
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
