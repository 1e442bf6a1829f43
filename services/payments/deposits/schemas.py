"""Response models of bank deposit imports, and the media types a bank file comes in."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from services.payments.reconciliation.schemas import MatchOut
from shared.problems import FieldError

BAI2_TYPES = ("text/plain", "application/octet-stream")
CSV_TYPES = ("text/csv",)
FileStatus = Literal["received", "imported", "refused"]


class DepositOut(BaseModel):
    id: uuid.UUID
    file_id: uuid.UUID
    record: int = Field(description="Line of the BAI2 16 record, or the CSV row.")
    bank_date: date
    amount: Decimal = Field(description="Credit positive, debit negative.")
    kind: Literal["eft", "check", "card", "other"]
    type_code: str = Field(description="The BAI2 type code (e.g. 165), or the CSV type.")
    account: str | None = Field(description="The bank account's last four digits.")
    trace_number: str | None = Field(description="An EFT's TRN02 from the ACH addenda (CORE reassociation).")
    check_number: str | None
    batch_id: str | None = Field(description="A card processor's settlement batch.")
    bank_reference: str | None
    customer_reference: str | None
    description: str | None
    match: MatchOut | None


class BankFileRef(BaseModel):
    id: uuid.UUID
    format: Literal["bai2", "csv"]
    sha256: str
    status: FileStatus
    errors: list[FieldError] = Field(description="Why a refused file was refused (record and rule).")
    deposit_count: int | None
    repeated_count: int | None = Field(
        description="Deposits skipped because an earlier file had the same bank reference."
    )
    received_by: str
    received_at: datetime
    imported_at: datetime | None


class BankImport(BankFileRef):
    duplicate: bool = Field(description="True when this file was imported before: nothing was done again.")
    deposits: list[DepositOut]
