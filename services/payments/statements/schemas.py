"""Response models of statements and the statement cycle."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


class CycleOut(BaseModel):
    statement_date: date
    issued: list[uuid.UUID]


class StatementOut(BaseModel):
    id: uuid.UUID
    account_id: str
    statement_date: date
    due_date: date
    amount_due: Decimal
    lines: list[dict[str, Any]]
    issued_at: datetime
    visits: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per visit: procedures (code and description), insurer, charges, insurance paid, "
        "adjustments, the patient's share by reason (deductible, coinsurance, copay), what the patient "
        "paid (credit not yet applied counts against the oldest visits) and what they owe.",
    )
    totals: dict[str, Any] = Field(default_factory=dict)
    practice: dict[str, Any] = Field(default_factory=dict, description="Who the statement is from.")
    remit_to: dict[str, Any] = Field(default_factory=dict)
    how_to_pay: dict[str, Any] = Field(default_factory=dict)
    past_due: dict[str, Any] | None = None
    recipient: dict[str, Any] | None = Field(
        default=None,
        description="Whom it is addressed to, as issued: the guarantor's name and `address_lines`, from the "
        "registry's current record (else the latest encounter's) on the statement date.",
    )
    patient_name: str | None = Field(
        default=None, description="Whose visits these are, when that is not the guarantor."
    )
