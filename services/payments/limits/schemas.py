"""What the money limits' endpoints take and answer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.money import Money, PositiveMoney


class LimitsIn(BaseModel):
    """The practice's whole set of limits (a PUT replaces them all, as one new version)."""

    model_config = ConfigDict(extra="forbid")

    patient_payment: PositiveMoney = Field(description="Largest patient payment (card, check, cash, ACH).")
    insurer_payment: PositiveMoney = Field(
        description="Largest insurer payment (an 835 set's BPR02) and bank deposit (a BAI2 or CSV amount)."
    )
    refund: PositiveMoney = Field(description="Largest refund, to a patient or to a payer that paid twice.")
    write_off: PositiveMoney = Field(
        description="Largest write-off or manual adjustment (credit or debit), denial write-offs included."
    )
    approval_threshold: Money = Field(
        description="A manual write-off or adjustment over this waits (202) for a second person's "
        "approval; 0 sends every one. Denial write-offs always wait."
    )


class LimitsOut(BaseModel):
    """The limits in force; `version` is null while the defaults from settings apply."""

    patient_payment: Decimal
    insurer_payment: Decimal
    refund: Decimal
    write_off: Decimal
    approval_threshold: Decimal
    version: int | None = Field(default=None, description="Each change is a new version, kept.")
    changed_by: str | None = Field(default=None, description="The payments admin who set them.")
    changed_at: datetime | None = None
