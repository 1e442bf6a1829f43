"""The tables claims' A/R is summed from (schema `claims`, migrations 0008_denied_ar and
0010_history_indexes)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, Numeric
from sqlmodel import Field, SQLModel

from services.claims.claims.tables import timestamp_column


class ArEntry(SQLModel, table=True):
    """One change to what a claim's payer owes, as payments' insurance ledger makes it: the
    claim's charges, a payer's adjudication (and its reversal), a later payer's opening, a
    retirement by a corrected or void claim, a denial worked in payments. Append-only."""

    __tablename__ = "ar_entries"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: UUID = Field(index=True)
    payer_id: str
    kind: (
        str  # charge, insurance_payment, adjustment, transfer, opening, retired, written_off, billed_patient
    )
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))  # change to what the payer owes
    to_patient: Decimal = Field(
        default=Decimal("0.00"), sa_column=Column(Numeric(14, 2), nullable=False)
    )  # what a transfer gave the patient
    payment_id: UUID | None = None  # the payment.posted that made it (postings and their reversals)
    group_code: str | None = None
    reason_code: str | None = None
    recorded_at: datetime = timestamp_column(False)  # as payments dates its ledger row


class ArOpenTotal(SQLModel, table=True):
    """What the payer owes now over all its claims, in slots the report sums: kept by a trigger
    on ar_entries (0010_history_indexes) in the same transaction as the rows, never written by
    the service's code, so the KPIs' open A/R reads a few rows instead of every A/R row."""

    __tablename__ = "ar_open_totals"

    payer_id: str = Field(primary_key=True)
    slot: int = Field(primary_key=True)
    owed: Decimal = Field(sa_column=Column(Numeric, nullable=False))
