"""Request and response models of the held queues and of payers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from services.payments.receipts.schemas import SetOut


class Resolution(StrEnum):
    post_additional = "post_additional"
    replace = "replace"
    dismiss = "dismiss"


class ResolveIn(BaseModel):
    """What to do with a conflict, and why (kept with it and audited)."""

    action: Resolution = Field(
        description="post_additional: post it as a remittance of its own beside the original; replace: "
        "reverse the original's claim postings (as a CLP02=22 reversal does) and post this one; dismiss: "
        "post nothing."
    )
    reason: str = Field(min_length=3, max_length=500)


class PayerOut(BaseModel):
    payer_id: str
    name: str
    identifiers: list[str]
    released: list[SetOut] = Field(
        description="Sets that waited for this payer, decided now: posted (or duplicate, or conflict)."
    )
