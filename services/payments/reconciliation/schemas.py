"""Response models of the reconciliation report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class Deposit(BaseModel):
    remittance_id: str
    payer_id: str
    trace_number: str
    paid_date: date | None
    method: str
    deposit: Decimal = Field(description="BPR02, signed.")
    posted: Decimal = Field(description="Claim payments posted less provider-level adjustments.")
    unmatched: Decimal = Field(description="Claim payments waiting in the unmatched queue.")
    difference: Decimal = Field(description="deposit - posted - unmatched; zero when everything ties.")


class Reconciliation(BaseModel):
    date_from: date
    date_to: date
    deposits: list[Deposit]
    deposit_total: Decimal
    posted_total: Decimal
    unapplied_insurance: Decimal = Field(description="Unmatched remittance claims in the range.")
    unapplied_patient_credit: Decimal = Field(
        description="Patient payments not applied to a charge (all time)."
    )
    difference_total: Decimal
