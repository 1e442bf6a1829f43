"""Patient payments and refunds: take money exactly once per Idempotency-Key, apply it to
the oldest open balance (or the item the request names), refund it, give a receipt.

The payment, its ledger rows, the stored idempotent response and the `payment.posted`
event all commit in one transaction. Allocation is not a separate table: each ledger row
of a payment carries the item it paid, so what a payment covered is read from the ledger.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments import ledger, plans
from services.payments.ledger import Entry
from services.payments.models import PatientPayment
from shared import idempotency
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.events import new_event
from shared.events.catalogue import PaymentPosted
from shared.outbox import add_event
from shared.problems import FieldError, Problem, ProblemError

SOURCE = "/services/payments"
ZERO = Decimal("0.00")

AccountIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Patient account id.")]
AccountIdField = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Patient account id.")]
Amount = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=12,
        decimal_places=2,
        examples=["25.00"],
        description="Amount in USD, up to two decimals. Send it as a string to keep precision.",
    ),
]


class PaymentIn(BaseModel):
    """A patient payment to post (old route: the account is in the path)."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    method: Literal["card", "check", "cash", "ach"]
    reference: str | None = Field(
        default=None, max_length=64, description="Check number or processor reference; no card numbers."
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
    receipt_number: str
    posted_at: datetime
    allocations: list[Allocation] = Field(default_factory=list)


router = APIRouter(tags=["patient payments"])


async def post_payment(session: AsyncSession, account_id: str, body: PaymentIn, posted_by: str) -> PaymentOut:
    """Record the payment, its ledger rows (one per item paid) and the event; caller commits."""
    now = datetime.now(UTC)
    await ledger.lock_account(session, account_id)
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
    await session.flush()
    allocations = await allocate(session, account_id, body.amount, body.apply_to)
    await ledger.append(
        session,
        [
            Entry(
                account_id=account_id,
                entry_type="payment",
                amount=-amount,
                bucket="patient",
                item_id=item,
                payment_id=payment.id,
                description=f"Patient payment ({body.method})" + ("" if item else ", unapplied"),
            )
            for item, amount in allocations
        ],
        now,
    )
    await plans.apply_payment(session, account_id, body.amount)
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
    return PaymentOut(
        id=payment.id,
        account_id=account_id,
        amount=body.amount,
        method=body.method,
        reference=body.reference,
        receipt_number=payment.receipt_number,
        posted_at=now,
        allocations=[Allocation(item_id=i, amount=a) for i, a in allocations],
    )


async def allocate(
    session: AsyncSession, account_id: str, amount: Decimal, apply_to: uuid.UUID | None
) -> list[tuple[uuid.UUID | None, Decimal]]:
    """Split an amount over the patient's open items: the named one first, then oldest
    service date first; what is left is unapplied credit."""
    items = [i for i in await ledger.open_items(session, account_id) if i.patient_due > 0]
    if apply_to is not None:
        items.sort(key=lambda i: i.item_id != apply_to)
    return _spread(amount, [(i.item_id, i.patient_due) for i in items])


def _spread(
    amount: Decimal, available: list[tuple[uuid.UUID | None, Decimal]]
) -> list[tuple[uuid.UUID | None, Decimal]]:
    """Take `amount` from each (item, available) in turn until it is used up; a rest that
    fits nowhere comes back last as (None, rest): unapplied."""
    result: list[tuple[uuid.UUID | None, Decimal]] = []
    left = amount
    for item, most in available:
        if left <= 0:
            break
        take = min(left, most)
        result.append((item, take))
        left -= take
    if left > 0:
        result.append((None, left))
    return result


async def idempotent_write(
    session: AsyncSession,
    scope: str,
    key: str | None,
    payload: dict[str, Any],
    write: Callable[[], Awaitable[BaseModel]],
) -> JSONResponse:
    """Money-moving writes answer a retry with the first response (Idempotency-Key): the
    key, the change and the stored 201 response commit in one transaction."""
    key = idempotency.require_key(key)
    async with session.begin():
        claimed = await idempotency.claim(
            session, scope=scope, key=key, request_hash=idempotency.fingerprint(payload)
        )
        if claimed.replay is not None:
            return claimed.replay
        result = (await write()).model_dump(mode="json")
        await idempotency.store(session, claimed, status.HTTP_201_CREATED, result)
    return JSONResponse(result, status_code=status.HTTP_201_CREATED)


async def create(
    session: AsyncSession,
    trail: AuditTrail,
    account_id: str,
    body: PaymentIn,
    idempotency_key: str | None,
    location: str,
) -> JSONResponse:
    trail.patient_id = account_id
    key = idempotency.require_key(idempotency_key)
    async with session.begin():
        claimed = await idempotency.claim(
            session,
            scope="patient-payment",
            key=key,
            request_hash=idempotency.fingerprint({"account_id": account_id, **body.model_dump(mode="json")}),
        )
        if claimed.replay is not None:
            trail.resource_id = str(claimed.stored_body.get("id"))
            return claimed.replay
        payment = await post_payment(session, account_id, body, trail.actor)
        result = payment.model_dump(mode="json")
        await idempotency.store(session, claimed, status.HTTP_201_CREATED, result)
    trail.resource_id = str(payment.id)
    return JSONResponse(
        result, status_code=status.HTTP_201_CREATED, headers={"Location": location.format(id=payment.id)}
    )


IDEMPOTENT_DOC = (
    "Requires `payments:write` and an `Idempotency-Key`: a retry with the same key and body returns the "
    "first response (`Idempotent-Replayed: true`) and never charges twice; the same key with another body "
    "is a 422. The payment applies to the oldest open patient balance unless `apply_to` names an item."
)


@router.post(
    "/v1/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    summary="Take a patient payment (card, check, cash, ACH)",
    responses={400: {"model": Problem, "description": "Idempotency-Key missing or malformed."}},
    description=IDEMPOTENT_DOC,
)
async def create_payment(
    body: NewPaymentIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("patient_payment", "create", require_scopes("payments:write"))],
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:
    fields = body.model_dump(exclude={"account_id"})
    return await create(
        session, trail, body.account_id, PaymentIn(**fields), idempotency_key, "/v1/payments/{id}"
    )


@router.post(
    "/v1/accounts/{account_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    summary="Take a patient payment (alias of POST /v1/payments with the account in the path)",
    responses={400: {"model": Problem, "description": "Idempotency-Key missing or malformed."}},
    description=IDEMPOTENT_DOC,
    deprecated=True,
)
async def create_account_payment(
    account_id: AccountIdPath,
    body: PaymentIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("patient_payment", "create", require_scopes("payments:write"))],
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:
    return await create(session, trail, account_id, body, idempotency_key, "/v1/payments/{id}")


async def _payment(session: AsyncSession, payment_id: uuid.UUID) -> PatientPayment:
    payment = await session.get(PatientPayment, payment_id)
    if payment is None:
        raise ProblemError(404, "not-found", "Payment not found")
    return payment


async def _applied(session: AsyncSession, payment_id: uuid.UUID) -> list[tuple[uuid.UUID | None, Decimal]]:
    """What of the payment is still applied, per item (payments less refunds)."""
    rows = (
        await session.execute(
            text(
                "SELECT item_id, -sum(amount) AS applied, max(id) AS last FROM ledger_entries "
                "WHERE payment_id = :p GROUP BY item_id"
            ),
            {"p": payment_id},
        )
    ).all()
    ordered = sorted(rows, key=lambda r: -r.last)  # most recently applied first
    return [(r.item_id, Decimal(r.applied)) for r in ordered if Decimal(r.applied) != 0]


class ReceiptOut(BaseModel):
    payment_id: uuid.UUID
    receipt_number: str
    account_id: str
    amount: Decimal
    method: str
    reference: str | None
    posted_at: datetime
    applied: list[Allocation]
    refunded: Decimal
    refunds: list[dict[str, Any]]


@router.get("/v1/payments/{payment_id}", response_model=ReceiptOut, summary="A patient payment")
@router.get("/v1/payments/{payment_id}/receipt", response_model=ReceiptOut, summary="A payment's receipt")
async def get_receipt(
    payment_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("patient_payment", "read", require_scopes("payments:read"))],
) -> ReceiptOut:
    trail.resource_id = str(payment_id)
    payment = await _payment(session, payment_id)
    trail.patient_id = payment.account_id
    refunds = (
        await session.execute(
            text(
                "SELECT id, amount, reason, refunded_at FROM refunds "
                "WHERE payment_id = :p ORDER BY refunded_at"
            ),
            {"p": payment_id},
        )
    ).all()
    return ReceiptOut(
        payment_id=payment.id,
        receipt_number=payment.receipt_number,
        account_id=payment.account_id,
        amount=payment.amount,
        method=payment.method,
        reference=payment.reference,
        posted_at=payment.posted_at,
        applied=[Allocation(item_id=i, amount=a) for i, a in await _applied(session, payment_id)],
        refunded=sum((Decimal(r.amount) for r in refunds), ZERO),
        refunds=[dict(r._mapping) for r in refunds],
    )


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount
    reason: str | None = Field(default=None, max_length=200)


class RefundOut(BaseModel):
    id: uuid.UUID
    payment_id: uuid.UUID
    account_id: str
    amount: Decimal
    refunded_at: datetime


@router.post(
    "/v1/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundOut,
    summary="Refund (part of) a patient payment",
    description="Requires `payments:write` and an `Idempotency-Key`. At most what is left of the payment. "
    "Unapplied credit is refunded first, then the items it paid, newest first (they owe again).",
)
async def refund_payment(
    payment_id: uuid.UUID,
    body: RefundIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("refund", "create", require_scopes("payments:write"))],
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:

    async def write() -> RefundOut:
        payment = await _payment(session, payment_id)
        trail.patient_id = payment.account_id
        await ledger.lock_account(session, payment.account_id)
        applied = await _applied(session, payment_id)
        refundable = sum((a for _, a in applied), ZERO)
        if body.amount > refundable:
            raise ProblemError(
                422,
                "refund-too-large",
                "The refund is larger than what is left of the payment",
                f"At most {refundable} can be refunded.",
                errors=[
                    FieldError(field="body.amount", rule="max_refundable", message=f"At most {refundable}.")
                ],
            )
        refund_id, now = uuid.uuid4(), datetime.now(UTC)
        await session.execute(
            text(
                "INSERT INTO refunds (id, payment_id, amount, reason, refunded_by, refunded_at) "
                "VALUES (:id, :p, :a, :r, :by, :now)"
            ),
            {
                "id": refund_id,
                "p": payment_id,
                "a": body.amount,
                "r": body.reason,
                "by": trail.actor,
                "now": now,
            },
        )
        # Unapplied credit first, then the most recently paid items (they owe again).
        # Never a rest: the amount is at most what is applied.
        order = sorted(applied, key=lambda x: x[0] is not None)
        entries = [
            Entry(
                account_id=payment.account_id,
                entry_type="refund",
                amount=take,
                bucket="patient",
                item_id=item,
                payment_id=payment_id,
                refund_id=refund_id,
                description="Refund of patient payment",
            )
            for item, take in _spread(body.amount, order)
        ]
        await ledger.append(session, entries, now)
        trail.resource_id = str(refund_id)
        return RefundOut(
            id=refund_id,
            payment_id=payment_id,
            account_id=payment.account_id,
            amount=body.amount,
            refunded_at=now,
        )

    return await idempotent_write(
        session, f"refund:{payment_id}", idempotency_key, body.model_dump(mode="json"), write
    )
