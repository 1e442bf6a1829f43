"""The table claims' A/R is summed from (schema `claims`, migration 0008_denied_ar)."""

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
