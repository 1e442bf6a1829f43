"""Response models of provider-level adjustments and forward balances."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

Effect = Literal["provider", "claim_ledger", "claim_reference", "forward_balance"]


class ProviderAdjustmentOut(BaseModel):
    """One PLB adjustment (835 PLB03/PLB04) and what the posting did with it."""

    id: int
    remittance_id: uuid.UUID
    provider_id: str
    fiscal_period_date: date | None
    reason_code: str = Field(
        description="PLB03-1, e.g. FB forward balance, WO overpayment recovery, L6 interest."
    )
    reference: str = Field(description="PLB03-2.")
    amount: Decimal = Field(description="PLB04: positive reduced the payment, negative increased it.")
    claim_id: uuid.UUID | None = Field(description="The claim PLB03-2 names, when it names one we know.")
    account_id: str | None
    effect: Effect = Field(
        description="`claim_ledger`: written on the claim's ledger item; `claim_reference`: tied to the "
        "claim, no ledger row (interest, penalties, returns); `forward_balance`: opened or recovered a "
        "forward balance; `provider`: provider level only."
    )
    forward_balance_id: uuid.UUID | None
    received_at: datetime = Field(description="When its remittance was received.")


class Recovery(BaseModel):
    remittance_id: uuid.UUID
    reason_code: str
    amount: Decimal
    received_at: datetime


class ForwardBalanceOut(BaseModel):
    """An amount a payer carried from one remittance to later ones (PLB FB)."""

    id: uuid.UUID
    payer_id: str
    reference: str = Field(description="PLB03-2 of the FB that opened it; recoveries carry the same.")
    claim_id: uuid.UUID | None
    account_id: str | None
    status: Literal["open", "recovered"]
    opened_amount: Decimal = Field(
        description="PLB04 of the opening FB: negative, the payer added it to that payment and will take "
        "it back; positive, the payer withheld it and owes it."
    )
    open_amount: Decimal = Field(description="What is left (same sign); 0 once recovered.")
    opened_by_remittance_id: uuid.UUID
    opened_at: datetime
    recovered_by_remittance_id: uuid.UUID | None
    recovered_at: datetime | None
    recoveries: list[Recovery]


class ForwardBalanceTotal(BaseModel):
    payer_id: str
    open_count: int
    open_amount: Decimal
    recovered_count: int


class ForwardBalanceReport(BaseModel):
    date_from: date | None
    date_to: date | None
    rows: list[ForwardBalanceTotal] = Field(description="Per payer, by payer id.")
