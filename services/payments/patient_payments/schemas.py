"""Request and response models of patient payments, receipts and refunds."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.payments.accounts.schemas import AccountIdField
from shared.money import PositiveMoney


class PaymentIn(BaseModel):
    """A patient payment to post (old route: the account is in the path)."""

    model_config = ConfigDict(extra="forbid")

    amount: PositiveMoney
    method: Literal["card", "check", "cash", "ach"]
    reference: str | None = Field(
        default=None, max_length=64, description="Check number or processor reference; no card numbers."
    )
    settlement_batch: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="Card payments: the processor's settlement batch id, as the terminal or gateway reports "
        "it. Left out, a card payment is in the day's batch (YYYYMMDD, UTC). The bank deposit of the batch "
        "is matched by it.",
    )
    apply_to: uuid.UUID | None = Field(
        default=None,
        description="The open item (claim id or charge id) to pay first; otherwise the oldest open balance.",
    )


class NewPaymentIn(PaymentIn):
    account_id: AccountIdField


class Allocation(BaseModel):
    item_id: uuid.UUID | None = Field(description="The claim or charge paid; null for unapplied credit.")
    amount: Decimal


class PaymentOut(BaseModel):
    id: uuid.UUID
    account_id: str
    amount: Decimal
    method: str
    reference: str | None
    settlement_batch: str | None = None
    receipt_number: str
    posted_at: datetime
    allocations: list[Allocation] = Field(default_factory=list)


class ReceiptOut(BaseModel):
    payment_id: uuid.UUID
    receipt_number: str
    account_id: str
    amount: Decimal
    method: str
    reference: str | None
    settlement_batch: str | None = None
    posted_at: datetime
    applied: list[Allocation]
    refunded: Decimal
    refunds: list[dict[str, Any]]


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: PositiveMoney
    reason: str | None = Field(default=None, max_length=200)


class RefundOut(BaseModel):
    id: uuid.UUID
    payment_id: uuid.UUID
    account_id: str
    amount: Decimal
    refunded_at: datetime
