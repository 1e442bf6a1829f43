"""Request and response models of the possible-duplicate queue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.payments.postings.schemas import AdjustmentOut

Status = Literal["open", "posted", "payer_paid_twice", "no_money"]


class Resolution(StrEnum):
    not_a_duplicate = "not-a-duplicate"
    payer_paid_twice = "duplicate-payer-paid-twice"
    no_money = "duplicate-file-no-money"


class ResolveIn(BaseModel):
    """What the possible duplicate is, and why (kept with it and audited)."""

    model_config = ConfigDict(extra="forbid")
    action: Resolution = Field(
        description="not-a-duplicate: post it after all, through the posting path (a second adjudication "
        "the payer confirms); duplicate-payer-paid-twice: the payer sent the money twice: record it as owed "
        "back to the payer (a payer credit balance the payer offsets in a later 835, or that is refunded), "
        "never as a second payment on the claim; duplicate-file-no-money: the payer sent the 835 twice but "
        "the money once (BPR02 0, or one EFT): dismiss it."
    )
    reason: str = Field(min_length=3, max_length=500)


class RefundIn(BaseModel):
    """The refund the practice sent the payer for a duplicate it paid twice."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=50, description="The refund's check number or EFT trace.")
    reason: str = Field(min_length=3, max_length=500)


class Remittance(BaseModel):
    """One side of a possible duplicate: the remittance and what its CLP said."""

    remittance_id: uuid.UUID
    trace_number: str = Field(description="TRN02.")
    paid_date: date | None = Field(description="BPR16.")
    received_at: datetime
    status_code: str = Field(description="CLP02.")
    charge: Decimal = Field(description="CLP03.")
    paid: Decimal = Field(description="CLP04.")
    patient_responsibility: Decimal = Field(description="CLP05.")
    adjustments: list[AdjustmentOut] = Field(description="Claim and line CAS, by group and reason.")


class Original(Remittance):
    """The posting the adjudication already has."""

    posting_id: uuid.UUID
    posted_at: datetime


class PossibleDuplicateOut(BaseModel):
    """An 835 claim paying an adjudication (payer, CLP01, CLP07) that is already posted and not
    reversed, beside the posting it repeats."""

    id: uuid.UUID
    status: Status
    reason: str
    payer_id: str
    patient_control_number: str = Field(description="CLP01.")
    payer_claim_control_number: str = Field(description="CLP07 ('' when the 835 has none).")
    claim_id: uuid.UUID
    account_id: str
    created_at: datetime
    original: Original
    duplicate: Remittance
    resolution_reason: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolved_posting_id: uuid.UUID | None = Field(description="not-a-duplicate: the posting it made.")
    credit_balance_id: uuid.UUID | None = Field(
        description="duplicate-payer-paid-twice: the payer credit balance (`/v1/forward-balances`) it opened."
    )
    refund_reference: str | None
    refund_reason: str | None
    refunded_by: str | None
    refunded_at: datetime | None
