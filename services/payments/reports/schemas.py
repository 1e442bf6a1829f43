"""Response model of the collections report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from shared.events.institutional import ClaimType


class ClaimTypeCollections(BaseModel):
    """The collections figures of one claim type."""

    charges: Decimal
    contractual_adjustments: Decimal
    other_adjustments: Decimal
    insurance_payments: Decimal
    patient_payments: Decimal
    refunds: Decimal
    transferred_to_patient: Decimal
    net_collection_rate: float | None
    insurance_ar: Decimal
    patient_ar: Decimal


class Collections(ClaimTypeCollections):
    """The collections report: the totals, then per claim type."""

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
    by_claim_type: dict[ClaimType, ClaimTypeCollections] = Field(
        description="The same figures for professional (837P) and institutional (837I) claims apart, by "
        "the claim's type as claim.submitted said; money of no claim (self-pay charges, unapplied "
        "payments) is in the totals only."
    )


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
    by_claim_type: dict[ClaimType, Bucket] = Field(
        default_factory=dict, description="The total for professional and institutional claims apart."
    )
