"""The reports' answers: A/R aging buckets and the KPIs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel


class Bucket(BaseModel):
    claims: int = 0
    balance: Decimal = Decimal("0.00")


class PayerAging(BaseModel):
    payer_id: str
    buckets: dict[str, Bucket]
    total: Bucket


class Aging(BaseModel):
    as_of: date
    payers: list[PayerAging]
    total: Bucket


class Rate(BaseModel):
    numerator: int
    denominator: int
    rate: float | None


class ClaimTypeKpis(BaseModel):
    """One claim type's part of the KPIs (professional 837P or institutional 837I): the same
    definitions over that type's claims; the parts add up to the totals."""

    claims_created: int
    claims_submitted: int
    claims_by_status: dict[str, int]
    charges: Decimal
    clean_claim_rate: Rate
    first_pass_resolution_rate: Rate
    denial_rate: Rate
    denial_rate_by_reason: dict[str, Rate]


class Kpis(BaseModel):
    date_from: date
    date_to: date
    claims_created: int
    clean_claim_rate: Rate
    first_pass_resolution_rate: Rate
    denial_rate: Rate
    denial_rate_by_reason: dict[str, Rate]
    denial_rate_by_payer: dict[str, Rate]
    days_in_ar: float | None
    open_ar: Decimal
    # Additive (the demo's billing-manager report): where the range's claims are now.
    claims_submitted: int = 0
    claims_by_status: dict[str, int] = {}
    # Additive (issue 20), when asked for (`by_claim_type=true`): professional and institutional.
    by_claim_type: dict[str, ClaimTypeKpis] | None = None
