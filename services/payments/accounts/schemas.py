"""Request and response models of the account views, and the API-facing type every
payments sub-domain uses for an account id (amounts are `shared.money`'s)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from services.payments.account_holds.schemas import HoldOut
from services.payments.assistance.schemas import AssistanceOut, FinancingOut
from services.payments.provider_adjustments.schemas import ProviderAdjustmentOut
from shared.money import PositiveMoney

ACCOUNT_ID = r"^[A-Za-z0-9._:\-]{1,64}$"
AccountIdPath = Annotated[str, Path(pattern=ACCOUNT_ID, description="Patient account id.")]
AccountIdField = Annotated[str, Field(pattern=ACCOUNT_ID, description="Patient account id.")]


class ItemOut(BaseModel):
    """An open item (a claim, or a charge the patient owes directly) and who owes what on it."""

    item_id: uuid.UUID
    claim_id: uuid.UUID | None
    service_date: date | None
    insurance_pending: Decimal
    insurance_denied: Decimal = Field(
        description="Of insurance_pending: denied by the payer, not worked yet."
    )
    patient_due: Decimal


class AccountOut(BaseModel):
    account_id: str
    balance: Decimal = Field(description="Sum of the whole ledger: positive means money is owed.")
    insurance_pending: Decimal = Field(
        description="Charges still with payers (denials not yet worked included)."
    )
    insurance_denied: Decimal = Field(
        default=Decimal("0.00"),
        description="Of insurance_pending: what payers denied and nobody has worked yet (appeal, correct, "
        "write off with approval, or bill the patient where the group code is PR).",
    )
    patient_due: Decimal = Field(
        description="What the patient owes now, less any unapplied credit and refund due."
    )
    unapplied_credit: Decimal = Field(description="Patient money not applied to any item yet.")
    refund_due: Decimal = Field(
        description="Credit the practice owes back to the patient (a credit adjustment beyond the "
        "balance, marked `refund_due`); never spent on new charges."
    )
    entry_count: int
    aged_balance: Decimal = Field(
        description="What the aging ages: the sum of the open items, = balance + unapplied_credit + "
        "refund_due. The aging buckets add up to it."
    )
    aging: dict[str, Decimal] = Field(description="Open balances by days since the date of service.")
    as_of: date
    items: list[ItemOut] = Field(default_factory=list, description="Open items, oldest service first.")
    provider_adjustments: list[ProviderAdjustmentOut] = Field(
        default_factory=list,
        description="835 provider-level adjustments (PLB) whose reference names one of the account's "
        "claims, oldest first; those with effect `claim_ledger` are also rows of the ledger.",
    )
    holds: list[HoldOut] = Field(
        default_factory=list,
        description="The front office's open holds (a dispute ticket: no statements or collections; an "
        "assistance application or financing: no final notice or referral), oldest first.",
    )
    financing: list[FinancingOut] = Field(
        default_factory=list, description="Financing referrals to a healthcare-credit partner, oldest first."
    )
    financial_assistance: list[AssistanceOut] = Field(
        default_factory=list,
        description="Approved financial assistance applications posted to the ledger, oldest first.",
    )


class LedgerLine(BaseModel):
    id: int
    entry_type: str
    bucket: str
    amount: Decimal
    item_id: uuid.UUID | None
    claim_id: uuid.UUID | None
    payment_id: uuid.UUID | None
    posting_id: uuid.UUID | None
    refund_id: uuid.UUID | None
    group_code: str | None
    reason_code: str | None
    service_date: date | None
    provider_adjustment_id: int | None = Field(
        default=None, description="The 835 provider-level adjustment (PLB) this row came from."
    )
    application_id: uuid.UUID | None = Field(
        default=None, description="The financial assistance application whose approved discount this row is."
    )
    description: str
    occurred_at: datetime


class Ledger(BaseModel):
    account_id: str
    balance: Decimal = Field(description="Sum of the whole ledger: positive means the patient owes.")
    entries: list[LedgerLine] = Field(description="One page of the ledger's rows, in the order written.")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page of entries; null at the end."
    )


class ChargeIn(BaseModel):
    """A charge the patient owes directly (self-pay visit, copay at the desk, fee)."""

    model_config = ConfigDict(extra="forbid")
    amount: PositiveMoney
    description: str = Field(min_length=1, max_length=120)
    service_date: date | None = None


class AdjustmentIn(BaseModel):
    """A manual adjustment of the patient balance: `credit` lowers what the patient owes
    (discount, write-off), at most what is owed on what it applies to; `debit` raises it (e.g.
    a returned check fee)."""

    model_config = ConfigDict(extra="forbid")
    amount: PositiveMoney
    direction: Literal["credit", "debit"] = "credit"
    reason: str = Field(min_length=1, max_length=120)
    item_id: uuid.UUID | None = Field(
        default=None,
        description="The item adjusted. Unset, a credit spreads over the open items oldest first "
        "and a debit is a new item of its own, dated today.",
    )
    refund_due: bool = Field(
        default=False,
        description="Credits only: what the open balance cannot take is recorded as a refund due to "
        "the patient instead of refusing the credit (422 `within_balance`).",
    )


class Written(BaseModel):
    account_id: str
    item_id: uuid.UUID | None = Field(description="The (first) item written to.")
    amount: Decimal = Field(description="The whole amount, signed as on the ledger.")
    entry_type: str
    refund_due: Decimal = Field(
        default=Decimal("0.00"), description="Of it, what was recorded as refund due."
    )
