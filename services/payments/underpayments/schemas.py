"""Request and response models of the underpayments API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.money import PositiveMoney

Status = Literal["open", "disputed", "recovered", "accepted"]


class UnderpaymentOut(BaseModel):
    id: uuid.UUID
    posting_id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: str
    code: str
    modifier: str
    units: Decimal
    expected_allowed: Decimal = Field(description="Contracted fee times units, from the version in effect.")
    actual_allowed: Decimal = Field(description="AMT*B6, else paid + the patient's share (PR).")
    variance: Decimal
    detected_at: datetime
    status: Status
    service_date: date | None = Field(description="The date of service that chose the fee schedule version.")
    fee_schedule_id: uuid.UUID | None
    fee_schedule_version: int | None
    dispute_note: str | None
    dispute_reference: str | None = Field(description="The payer's reference for the dispute, if any.")
    recovered_amount: Decimal | None
    accepted_amount: Decimal | None
    accepted_reason: str | None
    updated_at: datetime | None


class TransitionOut(BaseModel):
    from_status: str
    to_status: str
    actor: str
    note: str | None
    reference: str | None
    amount: Decimal | None
    posting_id: uuid.UUID | None = Field(description="The posting that recovered it, when a posting did.")
    at: datetime


class UnderpaymentDetail(UnderpaymentOut):
    history: list[TransitionOut]


class DisputeIn(BaseModel):
    """The underpayment is taken up with the payer."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=500, description="What was asked of the payer, and how.")
    reference: str | None = Field(
        default=None, min_length=1, max_length=80, description="The payer's ticket or appeal number."
    )


class RecoverIn(BaseModel):
    """The payer paid (part of) the difference."""

    model_config = ConfigDict(extra="forbid")
    amount: PositiveMoney = Field(description="What the payer paid back; at most the variance.")
    note: str | None = Field(default=None, max_length=500)


class AcceptIn(BaseModel):
    """The practice accepts the payer's amount: the variance is written off as accepted."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class ReportRow(BaseModel):
    payer_id: str
    status: Status
    count: int
    variance: Decimal
    recovered: Decimal
    accepted: Decimal


class UnderpaymentReport(BaseModel):
    date_from: date | None
    date_to: date | None
    rows: list[ReportRow] = Field(description="Per payer and status, by payer then status.")
