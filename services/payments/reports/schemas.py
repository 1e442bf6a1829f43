"""Response model of the collections report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class Collections(BaseModel):
    date_from: date
    date_to: date
    charges: Decimal
    contractual_adjustments: Decimal = Field(description="CO-45 and CO-253, as a positive amount.")
    other_adjustments: Decimal = Field(description="Denials and other write-downs, positive.")
    insurance_payments: Decimal
    patient_payments: Decimal
    refunds: Decimal
    transferred_to_patient: Decimal = Field(description="Patient responsibility moved over by 835s.")
    net_collection_rate: float | None = Field(description="None while nothing is collectible.")
    insurance_ar: Decimal = Field(description="Open with payers now (all time).")
    patient_ar: Decimal = Field(description="Owed by patients now, less unapplied credit (all time).")


class Bucket(BaseModel):
    claims: int = 0
    balance: Decimal = Decimal("0.00")


class PayerAr(BaseModel):
    payer_id: str
    buckets: dict[str, Bucket]
    total: Bucket


class InsuranceAr(BaseModel):
    """Insurance A/R per payer: the ledger's insurance bucket by claim, by the payer of the claim,
    aged from its date of service. Claims' `GET /v1/reports/ar-aging` answers the same totals."""

    as_of: date
    payers: list[PayerAr]
    total: Bucket
