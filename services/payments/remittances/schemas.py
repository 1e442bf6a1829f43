"""Request and response models of the remittances API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from services.payments.provider_adjustments.schemas import ProviderAdjustmentOut

PayerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]
RemittanceId = Annotated[uuid.UUID, Path()]


class Warning835(BaseModel):
    field: str
    message: str


class InpatientOut(BaseModel):
    """835 loop 2100 MIA as read."""

    covered_days: Decimal = Field(description="MIA01.")
    drg_amount: Decimal | None = Field(default=None, description="MIA04.")
    capital_amount: Decimal | None = Field(default=None, description="MIA08, PPS capital amount.")
    remark_codes: list[str] = Field(default_factory=list, description="MIA05, MIA20-23.")
    other: dict[str, Decimal] = Field(default_factory=dict, description="The other MIA elements, by element.")


class OutpatientOut(BaseModel):
    """835 loop 2100 MOA as read."""

    reimbursement_rate: Decimal | None = Field(default=None, description="MOA01, a percentage.")
    hcpcs_payable_amount: Decimal | None = Field(default=None, description="MOA02.")
    remark_codes: list[str] = Field(default_factory=list, description="MOA03-07.")
    other: dict[str, Decimal] = Field(default_factory=dict, description="MOA08, MOA09, by element.")


class ServiceLineOut(BaseModel):
    """An 835 service line (loop 2110) as posted."""

    qualifier: str = Field(default="HC", description="SVC01-1: HC (HCPCS/CPT) or NU (revenue code only).")
    code: str = Field(description="SVC01-2.")
    revenue_code: str | None = Field(default=None, description="Institutional: NU's SVC01-2, else SVC04.")
    line_number: int | None = Field(default=None, description="The claim line it answers.")
    modifiers: list[str] = Field(default_factory=list)
    charge: Decimal
    paid: Decimal
    units: Decimal | None = None
    allowed: Decimal | None = None
    adjustments: list[dict[str, Any]] = Field(default_factory=list)
    remark_codes: list[str] = Field(default_factory=list)


class ClaimLine(BaseModel):
    patient_control_number: str
    payer_claim_control_number: str | None
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    claim_id: uuid.UUID | None = None
    account_id: str | None = Field(default=None, description="The patient account a matched claim posted to.")
    posting_id: uuid.UUID | None = None
    unmatched_id: uuid.UUID | None = None
    reason: str | None = None
    adjustments: list[dict[str, Any]] = Field(default_factory=list)
    # Posted claims (issue 20): the claim copy's type and what the 835 said of an institutional claim.
    claim_type: str | None = Field(default=None, description="professional or institutional (the claim's).")
    facility_type_code: str | None = Field(default=None, description="CLP08 (type of bill digits 2-3).")
    frequency_code: str | None = Field(default=None, description="CLP09.")
    drg_code: str | None = Field(default=None, description="CLP11.")
    drg_weight: Decimal | None = Field(default=None, description="CLP12.")
    inpatient: InpatientOut | None = Field(default=None, description="MIA.")
    outpatient: OutpatientOut | None = Field(default=None, description="MOA.")
    lines: list[ServiceLineOut] = Field(default_factory=list, description="Loop 2110, with revenue codes.")


class Totals(BaseModel):
    deposit: Decimal = Field(description="BPR02, signed (D = debit is negative).")
    claims_paid: Decimal
    provider_adjustments: Decimal = Field(description="PLB total; positive amounts reduced the deposit.")
    posted: Decimal = Field(description="Matched claim payments less provider adjustments.")
    unmatched: Decimal = Field(description="Payments of claims waiting in the unmatched queue.")
    possible_duplicates: Decimal = Field(
        default=Decimal("0.00"),
        description="Payments of claims parked as possible duplicates (their adjudication was posted "
        "before).",
    )
    payer_credit: Decimal = Field(
        default=Decimal("0.00"),
        description="Possible duplicates the payer paid twice: owed back to the payer (a payer credit "
        "balance).",
    )
    no_money: Decimal = Field(
        default=Decimal("0.00"),
        description="Possible duplicates dismissed: the 835 came twice, the money once.",
    )
    withdrawn: Decimal = Field(
        default=Decimal("0.00"),
        description="Parked claims taken out of the unmatched queue when this remittance was replaced. "
        "posted + unmatched + possible_duplicates + payer_credit + no_money + withdrawn = deposit.",
    )


class RemittanceSummary(BaseModel):
    id: uuid.UUID
    payer_id: str
    payer_name: str | None
    trace_number: str
    method: str
    amount: Decimal
    credit_debit: str
    paid_date: date | None
    received_at: datetime
    source: str
    duplicate: bool = False
    kind: str = Field(
        default="original",
        description="`original`: the first of its payer and trace number; `additional` or `replacement`: a "
        "same-trace remittance with other content that staff chose to post (see /v1/remittance-reviews).",
    )
    replaces: uuid.UUID | None = Field(default=None, description="The remittance this one replaced.")
    replaced_by: uuid.UUID | None = Field(
        default=None, description="The remittance that replaced this one; its claim postings were reversed."
    )
    matched: list[ClaimLine]
    unmatched: list[ClaimLine]
    totals: Totals
    provider_level_adjustments: list[ProviderAdjustmentOut] = Field(
        description="PLB adjustments in file order, with the claim PLB03-2 names and what was done with each."
    )
    warnings: list[Warning835]


class PayerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    identifiers: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=list,
        max_length=100,
        description="What the payer's 835s carry: N1*PR N104, REF*2U, or TRN03.",
    )


class RemittanceRef(BaseModel):
    id: uuid.UUID
    payer_id: str
    trace_number: str
    amount: Decimal
    paid_date: date | None
    source: str
    received_at: datetime
