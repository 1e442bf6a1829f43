"""Patient payments: take money against an account, exactly once per Idempotency-Key.

The payment, its ledger entry, the stored idempotent response and the `payment.posted`
event all commit in one transaction.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.models import LedgerEntry, PatientPayment
from shared import idempotency
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.events import new_event
from shared.events.catalogue import PaymentPosted
from shared.outbox import add_event
from shared.problems import Problem, ProblemError

SOURCE = "/services/payments"

AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Patient account id.")]


class PaymentIn(BaseModel):
    """A patient payment to post."""

    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(
        gt=0,
        max_digits=12,
        decimal_places=2,
        examples=["25.00"],
        description="Amount in USD, up to two decimals. Send it as a string to keep precision.",
    )
    method: Literal["card", "check", "cash", "ach"]
    reference: str | None = Field(
        default=None, max_length=64, description="Check number or processor reference; no card numbers."
    )


class PaymentOut(BaseModel):
    id: uuid.UUID
    account_id: str
    amount: Decimal
    method: str
    reference: str | None
    receipt_number: str
    posted_at: datetime


class LedgerLine(BaseModel):
    id: int
    entry_type: str
    amount: Decimal
    payment_id: uuid.UUID | None
    description: str
    occurred_at: datetime


class Ledger(BaseModel):
    account_id: str
    balance: Decimal = Field(description="Sum of the ledger: positive means the patient owes.")
    entries: list[LedgerLine]


router = APIRouter(prefix="/v1/accounts", tags=["patient payments"])


def _out(payment: PatientPayment) -> PaymentOut:
    return PaymentOut.model_validate(payment, from_attributes=True)


async def post_payment(
    session: AsyncSession, account_id: str, body: PaymentIn, posted_by: str
) -> PatientPayment:
    """Record the payment, its ledger credit and the event; the caller commits."""
    now = datetime.now(UTC)
    payment = PatientPayment(
        id=uuid.uuid4(),
        account_id=account_id,
        amount=body.amount,
        method=body.method,
        reference=body.reference,
        receipt_number=f"R-{now:%Y%m%d}-{secrets.token_hex(4).upper()}",
        posted_by=posted_by,
        posted_at=now,
    )
    session.add(payment)
    session.add(
        LedgerEntry(
            account_id=account_id,
            entry_type="payment",
            amount=-body.amount,
            payment_id=payment.id,
            description=f"Patient payment ({body.method})",
            occurred_at=now,
        )
    )
    add_event(
        session,
        new_event(
            PaymentPosted(
                payment_id=payment.id,
                source="patient",
                account_id=account_id,
                amount=body.amount,
                method=body.method,
                posted_at=now,
                receipt_number=payment.receipt_number,
            ),
            source=SOURCE,
        ),
    )
    return payment


@router.post(
    "/{account_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    summary="Take a patient payment (card, check, cash, ACH)",
    responses={400: {"model": Problem, "description": "Idempotency-Key missing or malformed, or bad JSON."}},
    description="Requires `payments:write` and an `Idempotency-Key`: a retry with the same key and body "
    "returns "
    "the first response (`Idempotent-Replayed: true`) and never charges twice.",
)
async def create_payment(
    account_id: AccountId,
    body: PaymentIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("patient_payment", "create", require_scopes("payments:write"))],
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.patient_id = account_id
    key = idempotency.require_key(idempotency_key)
    async with session.begin():
        claimed = await idempotency.claim(
            session,
            scope=f"patient-payment:{account_id}",
            key=key,
            request_hash=idempotency.fingerprint(body.model_dump(mode="json")),
        )
        if claimed.replay is not None:
            trail.resource_id = str(claimed.stored_body.get("id"))
            return claimed.replay
        payment = await post_payment(session, account_id, body, trail.actor)
        result = _out(payment).model_dump(mode="json")
        await idempotency.store(session, claimed, status.HTTP_201_CREATED, result)
    trail.resource_id = str(payment.id)
    return JSONResponse(
        result,
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/v1/accounts/{account_id}/payments/{payment.id}"},
    )


@router.get(
    "/{account_id}/payments/{payment_id}",
    response_model=PaymentOut,
    summary="One patient payment",
    responses={404: {"model": Problem, "description": "No such payment on this account."}},
)
async def get_payment(
    account_id: AccountId,
    payment_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("patient_payment", "read", require_scopes("payments:read"))],
) -> PaymentOut:
    trail.resource_id, trail.patient_id = str(payment_id), account_id
    payment = await session.get(PatientPayment, payment_id)
    if payment is None or payment.account_id != account_id:
        raise ProblemError(404, "not-found", "Payment not found", "No such payment on this account.")
    return _out(payment)


@router.get("/{account_id}/ledger", response_model=Ledger, summary="An account's ledger and derived balance")
async def get_ledger(
    account_id: AccountId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("account_ledger", "read", require_scopes("payments:read"))],
) -> Ledger:
    trail.resource_id = trail.patient_id = account_id
    entries = (
        await session.exec(
            select(LedgerEntry).where(LedgerEntry.account_id == account_id).order_by(col(LedgerEntry.id))
        )
    ).all()
    balance = (
        await session.exec(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account_id == account_id)
        )
    ).one()
    return Ledger(
        account_id=account_id,
        balance=Decimal(balance),
        entries=[LedgerLine.model_validate(e, from_attributes=True) for e in entries],
    )
