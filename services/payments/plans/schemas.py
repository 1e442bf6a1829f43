"""Request and response models of payment plans and the plan cycle."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    installments: int = Field(ge=1, le=120)
    frequency: Literal["weekly", "biweekly", "monthly"] = "monthly"
    first_due_date: date


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    amount: Decimal
    paid: Decimal


class PlanOut(BaseModel):
    id: uuid.UUID
    account_id: str
    total: Decimal
    installment_count: int
    frequency: str
    first_due_date: date
    status: str
    installments: list[InstallmentOut]
