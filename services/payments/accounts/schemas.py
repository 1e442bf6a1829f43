"""Request and response models of the account views, and the API-facing types every
payments sub-domain uses for an account id and an amount of money."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

ACCOUNT_ID = r"^[A-Za-z0-9._:\-]{1,64}$"
AccountIdPath = Annotated[str, Path(pattern=ACCOUNT_ID, description="Patient account id.")]
AccountIdField = Annotated[str, Field(pattern=ACCOUNT_ID, description="Patient account id.")]
Amount = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=12,
        decimal_places=2,
        examples=["25.00"],
        description="Amount in USD, up to two decimals. Send it as a string to keep precision.",
    ),
]


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
    patient_due: Decimal = Field(description="What the patient owes now (less any unapplied credit).")
    unapplied_credit: Decimal
    entry_count: int
    aging: dict[str, Decimal] = Field(description="Open balances by days since the date of service.")
    as_of: date
    items: list[ItemOut] = Field(default_factory=list, description="Open items, oldest service first.")


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
    description: str
    occurred_at: datetime


class Ledger(BaseModel):
    account_id: str
    balance: Decimal = Field(description="Sum of the ledger: positive means the patient owes.")
    entries: list[LedgerLine]


class ChargeIn(BaseModel):
    """A charge the patient owes directly (self-pay visit, copay at the desk, fee)."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount
    description: str = Field(min_length=1, max_length=120)
    service_date: date | None = None


class AdjustmentIn(BaseModel):
    """A manual adjustment: `credit` lowers what the patient owes (discount, write-off),
    `debit` raises it (e.g. a returned check fee)."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount
    direction: Literal["credit", "debit"] = "credit"
    reason: str = Field(min_length=1, max_length=120)
    item_id: uuid.UUID | None = Field(
        default=None, description="The item adjusted; default the oldest open one."
    )


class Written(BaseModel):
    account_id: str
    item_id: uuid.UUID | None
    amount: Decimal
    entry_type: str
