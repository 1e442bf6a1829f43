"""Request and response models of payment plans, their changes and history, and the plan cycle."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.money import PositiveMoney

Frequency = Literal["weekly", "biweekly", "monthly"]


class PlanIn(BaseModel):
    """A plan for (part of) what the patient owes now: `amount` at most the patient due."""

    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")
    amount: PositiveMoney = Field(description="At most what the patient owes now (422 `within_patient_due`).")
    installments: int = Field(ge=1, le=120)
    frequency: Frequency = "monthly"
    first_due_date: date


class PlanChangeIn(BaseModel):
    """New terms for an active plan. What was paid stays paid (a part-paid installment closes at
    what it got); the rest is scheduled again from the first unpaid installment's date."""

    model_config = ConfigDict(extra="forbid")
    amount: PositiveMoney | None = Field(
        default=None,
        description="The plan's new total, paid installments included: more than what was paid, and "
        "the rest at most what the patient owes now.",
    )
    installments: int | None = Field(
        default=None, ge=1, le=120, description="How many installments the rest is split into."
    )
    frequency: Frequency | None = None
    first_due_date: date | None = Field(default=None, description="The next installment's date.")
    day: int | None = Field(
        default=None,
        ge=1,
        le=31,
        description="Monthly plans: move the unpaid installments to this day of the month (clamped to "
        "the month's end), from the first unpaid installment's month.",
    )
    reason: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        terms = (self.amount, self.installments, self.frequency, self.first_due_date, self.day)
        if all(t is None for t in terms):
            raise ValueError("Change at least one of amount, installments, frequency, first_due_date, day.")
        if self.day is not None and self.first_due_date is not None:
            raise ValueError("Give either day or first_due_date, not both.")
        return self


class PlanCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=200)


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    amount: Decimal
    paid: Decimal


class PlanVersionOut(BaseModel):
    """The plan as one change left it (append-only: every version stays)."""

    version: int
    action: Literal["created", "changed", "cancelled"]
    total: Decimal
    installment_count: int
    frequency: str
    first_due_date: date
    status: str
    installments: list[InstallmentOut]
    reason: str | None
    actor: str
    at: datetime


class PlanOut(BaseModel):
    id: uuid.UUID
    account_id: str
    total: Decimal
    installment_count: int
    frequency: str
    first_due_date: date
    status: str
    version: int = Field(description="How many times the plan was made or changed (1 = as created).")
    installments: list[InstallmentOut]
    history: list[PlanVersionOut] = Field(description="Every version, oldest first.")


class CycleResult(BaseModel):
    as_of: date
    installments_due: int = 0
    installments_late: int = 0
    balances_late: int = 0
    sent_to_collections: list[str] = Field(default_factory=list)
    ran: bool = True  # always true since replicas share the cycle (SKIP LOCKED); kept for callers
