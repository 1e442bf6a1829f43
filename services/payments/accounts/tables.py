"""The table the accounts sub-domain owns: the append-only ledger (schema `payments`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlmodel import Field, SQLModel


class LedgerEntry(SQLModel, table=True):
    """One line of an account's ledger. Charges are positive, payments negative; the
    balance is the sum, never a stored number. Rows are never changed: corrections are
    new entries."""

    __tablename__ = "ledger_entries"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True)
    entry_type: str  # charge, payment, insurance_payment, adjustment, transfer, refund
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    bucket: str = "patient"  # who owes it: insurance | patient
    item_id: UUID | None = None  # the claim or charge it belongs to; None = unapplied
    claim_id: UUID | None = None
    posting_id: UUID | None = None  # the 835 claim posting that wrote it
    payment_id: UUID | None = None
    refund_id: UUID | None = None
    group_code: str | None = None  # CAS group (CO, PR, OA, PI, CR)
    reason_code: str | None = None  # CAS reason (CARC)
    service_date: date | None = None
    provider_adjustment_id: int | None = None  # the 835 PLB adjustment (provider_adjustments.id)
    application_id: UUID | None = None  # the financial assistance application (migration 0017)
    description: str
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
