"""Request and response models of the reconciliation: matches, the report and its worklists."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.paging import CursorPage

Rule = Literal["eft_trace", "check_number", "card_batch", "manual"]
MatchStatus = Literal["matched", "discrepancy"]


class MatchOut(BaseModel):
    """What a deposit is matched to: an 835 (remittance) or a card settlement batch."""

    id: uuid.UUID
    deposit_id: uuid.UUID
    remittance_id: uuid.UUID | None
    card_batch: str | None
    rule: Rule = Field(
        description="eft_trace: the ACH addenda's TRN02 is the 835's TRN02 (CORE reassociation); "
        "check_number: the check 835's TRN02 (BPR04=CHK); card_batch: the processor's settlement "
        "batch; manual: matched by a person, with a reason."
    )
    status: MatchStatus = Field(
        description="discrepancy when the deposit's amount differs from the 835's BPR02 or the batch's total."
    )
    deposit_amount: Decimal
    expected_amount: Decimal = Field(description="BPR02 (negative for a debit), or the batch's total.")
    difference: Decimal = Field(description="deposit_amount - expected_amount.")
    reason: str | None
    matched_by: str
    matched_at: datetime


class MatchedDeposit(MatchOut):
    """A report row: the match with the deposit's bank date and the 835's payer and trace."""

    bank_date: date
    kind: str
    payer_id: str | None
    trace_number: str | None = Field(description="The 835's TRN02 (EFT trace or check number).")
    paid_date: date | None = Field(description="The 835's BPR16.")


class UnmatchedDeposit(BaseModel):
    deposit_id: uuid.UUID
    file_id: uuid.UUID
    record: int = Field(description="Line of the BAI2 16 record, or the CSV row.")
    bank_date: date
    age_days: int = Field(description="Days since the bank date, as of the report's date.")
    kind: str
    type_code: str
    amount: Decimal
    trace_number: str | None
    check_number: str | None
    batch_id: str | None
    bank_reference: str | None
    customer_reference: str | None
    description: str | None


class UnmatchedRemittance(BaseModel):
    remittance_id: uuid.UUID
    payer_id: str
    trace_number: str
    method: str
    amount: Decimal = Field(description="BPR02, negative for a debit.")
    paid_date: date | None
    received_at: datetime
    age_days: int = Field(description="Days since BPR16 (or since it was received), as of the report's date.")


class Totals(BaseModel):
    deposit_count: int
    deposit_total: Decimal = Field(description="Every credit less every debit the bank reported.")
    matched_count: int
    matched_total: Decimal
    discrepancy_count: int
    discrepancy_total: Decimal = Field(description="Sum of deposit - expected over the discrepancies.")
    unmatched_deposit_count: int
    unmatched_deposit_total: Decimal
    remittance_count: int = Field(description="835s paying money (BPR02 not zero) paid in the range.")
    remittance_total: Decimal
    unmatched_remittance_count: int
    unmatched_remittance_total: Decimal = Field(description="835 money the bank has not shown yet.")
    unapplied_insurance: Decimal = Field(description="Claim payments of the range's 835s still unmatched.")
    unapplied_patient_credit: Decimal = Field(
        description="Patient payments not applied to a charge (all time)."
    )


class Reconciliation(BaseModel):
    date_from: date
    date_to: date
    as_of: date
    totals: Totals
    matched: CursorPage[MatchedDeposit] = Field(
        description="First page of the matches; more from /v1/reports/reconciliation/matched."
    )
    discrepancies: CursorPage[MatchedDeposit] = Field(
        description="First page of the discrepancies; more from /v1/reports/reconciliation/discrepancies."
    )
    unmatched_deposits: CursorPage[UnmatchedDeposit] = Field(
        description="First page; more from /v1/reports/reconciliation/unmatched-deposits."
    )
    unmatched_remittances: CursorPage[UnmatchedRemittance] = Field(
        description="First page; more from /v1/reports/reconciliation/unmatched-remittances."
    )


class MatchIn(BaseModel):
    """A match made by a person: one deposit to one 835 or one card batch, with a reason."""

    model_config = ConfigDict(extra="forbid")

    remittance_id: uuid.UUID | None = None
    card_batch: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str = Field(min_length=3, max_length=500)
    accept_difference: bool = Field(
        default=False,
        description="Amounts differ and the reason explains why (a bank fee, a processor's fee): a match, "
        "not a discrepancy.",
    )

    @model_validator(mode="after")
    def one_target(self) -> Self:
        if (self.remittance_id is None) == (self.card_batch is None):
            raise ValueError("name exactly one of remittance_id and card_batch")
        return self


class UnmatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500)
