"""Patient accounts: the balance, what insurance still owes, what the patient owes and its
aging, all derived from the append-only ledger; plus manual charges and adjustments."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from services.payments import ledger
from services.payments.ledger import Entry
from services.payments.patient_payments import AccountIdPath, Amount, idempotent_write
from shared import idempotency
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import FieldError, ProblemError

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


class AccountOut(BaseModel):
    account_id: str
    balance: Decimal = Field(description="Sum of the whole ledger: positive means money is owed.")
    insurance_pending: Decimal = Field(description="Charges still with payers.")
    patient_due: Decimal = Field(description="What the patient owes now (less any unapplied credit).")
    unapplied_credit: Decimal
    entry_count: int
    aging: dict[str, Decimal] = Field(description="Open balances by days since the date of service.")
    as_of: date


@router.get("/{account_id}", response_model=AccountOut, summary="An account's balances and aging")
async def get_account(
    account_id: AccountIdPath,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("account", "read", require_scopes("payments:read"))],
    as_of: Annotated[date | None, Query(description="Aging date (default today).")] = None,
) -> AccountOut:
    trail.resource_id = trail.patient_id = account_id
    return AccountOut(**await ledger.account_summary(session, account_id, as_of or date.today()))


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


@router.get("/{account_id}/ledger", response_model=Ledger, summary="An account's ledger and derived balance")
async def get_ledger(
    account_id: AccountIdPath,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("account_ledger", "read", require_scopes("payments:read"))],
) -> Ledger:
    trail.resource_id = trail.patient_id = account_id
    rows = (
        await session.execute(
            text("SELECT * FROM ledger_entries WHERE account_id = :a ORDER BY id"), {"a": account_id}
        )
    ).all()
    balance = (
        await session.execute(
            text("SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = :a"),
            {"a": account_id},
        )
    ).scalar_one()
    return Ledger(
        account_id=account_id,
        balance=Decimal(balance),
        entries=[LedgerLine.model_validate(r, from_attributes=True) for r in rows],
    )


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


@router.post(
    "/{account_id}/charges",
    status_code=status.HTTP_201_CREATED,
    response_model=Written,
    summary="Add a patient charge (Idempotency-Key required)",
)
async def add_charge(
    account_id: AccountIdPath,
    body: ChargeIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("account_charge", "create", require_scopes("payments:write"))],
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.patient_id = trail.resource_id = account_id

    async def write() -> Written:
        item = uuid.uuid4()
        await ledger.append(
            session,
            [
                Entry(
                    account_id=account_id,
                    entry_type="charge",
                    amount=body.amount,
                    bucket="patient",
                    item_id=item,
                    description=body.description,
                    service_date=body.service_date or datetime.now(UTC).date(),
                )
            ],
        )
        return Written(account_id=account_id, item_id=item, amount=body.amount, entry_type="charge")

    return await idempotent_write(
        session, f"charge:{account_id}", idempotency_key, body.model_dump(mode="json"), write
    )


@router.post(
    "/{account_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=Written,
    summary="Adjust a patient balance (Idempotency-Key required)",
)
async def add_adjustment(
    account_id: AccountIdPath,
    body: AdjustmentIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("account_adjustment", "create", require_scopes("payments:write"))],
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.patient_id = trail.resource_id = account_id

    async def write() -> Written:
        await ledger.lock_account(session, account_id)
        item = body.item_id
        if item is None:
            open_items = [i for i in await ledger.open_items(session, account_id) if i.patient_due > 0]
            item = open_items[0].item_id if open_items else None
        elif not any(i.item_id == item for i in await ledger.open_items(session, account_id)):
            raise ProblemError(
                422,
                "unknown-item",
                "No open item with this id on the account",
                errors=[FieldError(field="body.item_id", rule="open_item", message="Name an open item.")],
            )
        amount = -body.amount if body.direction == "credit" else body.amount
        await ledger.append(
            session,
            [
                Entry(
                    account_id=account_id,
                    entry_type="adjustment",
                    amount=amount,
                    bucket="patient",
                    item_id=item,
                    description=f"Adjustment: {body.reason}",
                )
            ],
        )
        return Written(account_id=account_id, item_id=item, amount=amount, entry_type="adjustment")

    return await idempotent_write(
        session, f"adjustment:{account_id}", idempotency_key, body.model_dump(mode="json"), write
    )
