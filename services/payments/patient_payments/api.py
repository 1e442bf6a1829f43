"""HTTP for patient payments: take a payment (Idempotency-Key), read its receipt, refund it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from services.payments.accounts.schemas import AccountIdPath
from services.payments.patient_payments import usecases
from services.payments.patient_payments.schemas import (
    NewPaymentIn,
    PaymentIn,
    PaymentOut,
    ReceiptOut,
    RefundIn,
    RefundOut,
)
from services.payments.patient_payments.tables import PatientPayment
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.problems import Problem

router = APIRouter(tags=["patient payments"])

CreatePayment = Annotated[AuditTrail, audited("patient_payment", "create", require_scopes("payments:write"))]
ReadPayment = Annotated[AuditTrail, audited("patient_payment", "read", require_scopes("payments:read"))]
CreateRefund = Annotated[AuditTrail, audited("refund", "create", require_scopes("payments:write"))]


async def get_current_payment(
    payment_id: uuid.UUID, session: SessionDep, trail: ReadPayment
) -> PatientPayment:
    """The payment in the path (404 otherwise), with the audit trail told whose it is."""
    trail.resource_id = str(payment_id)
    payment = await usecases.payment_or_404(session, payment_id)
    trail.patient_id = payment.account_id
    return payment


CurrentPayment = Annotated[PatientPayment, Depends(get_current_payment)]

IDEMPOTENT_DOC = (
    "Requires `payments:write` and an `Idempotency-Key`: a retry with the same key and body returns the "
    "first response (`Idempotent-Replayed: true`) and never charges twice; the same key with another body "
    "is a 422. The payment applies to the oldest open patient balance unless `apply_to` names an item. "
    "The amount is a plain decimal string with at most two decimal places (a JSON number, an exponent, "
    "a sign, spaces or non-ASCII digits are a 422 naming `body.amount` and the rule). The account must be "
    "one payments knows (ledger rows or a claim sent for it): otherwise 422 `known_account` (404 on the "
    "old route)."
)
KEY_PROBLEMS = {400: {"model": Problem, "description": "Idempotency-Key missing or malformed."}}


async def _take_payment(
    session: SessionDep,
    trail: AuditTrail,
    account_id: str,
    body: PaymentIn,
    idempotency_key: str | None,
    account_field: str | None = None,
) -> JSONResponse:
    """Both payment routes: one idempotency scope, so the alias replays what the new route took.
    An unknown account is a 422 naming `account_field` (the body's id), or a 404 (the path's)."""
    trail.patient_id = account_id
    outcome = await idempotent_write(
        session,
        scope="patient-payment",
        actor=trail.actor,
        key=idempotency_key,
        request={"account_id": account_id, **body.model_dump(mode="json")},
        write=lambda: usecases.post_payment(session, account_id, body, trail.actor, account_field),
    )
    trail.resource_id = str(outcome.body.get("id"))
    if outcome.replayed:
        return outcome.response()
    return outcome.response(headers={"Location": f"/v1/payments/{outcome.body['id']}"})


@router.post(
    "/v1/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    summary="Take a patient payment (card, check, cash, ACH)",
    responses=KEY_PROBLEMS,
    description=IDEMPOTENT_DOC,
)
async def create_payment(
    body: NewPaymentIn,
    session: SessionDep,
    trail: CreatePayment,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    fields = body.model_dump(exclude={"account_id"})
    payment = PaymentIn(**fields)
    return await _take_payment(session, trail, body.account_id, payment, idempotency_key, "body.account_id")


@router.post(
    "/v1/accounts/{account_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    summary="Take a patient payment (alias of POST /v1/payments with the account in the path)",
    responses=KEY_PROBLEMS,
    description=IDEMPOTENT_DOC,
    deprecated=True,
)
async def create_account_payment(
    account_id: AccountIdPath,
    body: PaymentIn,
    session: SessionDep,
    trail: CreatePayment,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return await _take_payment(session, trail, account_id, body, idempotency_key)


@router.get("/v1/payments/{payment_id}", response_model=ReceiptOut, summary="A patient payment")
@router.get("/v1/payments/{payment_id}/receipt", response_model=ReceiptOut, summary="A payment's receipt")
async def get_receipt(payment: CurrentPayment, session: SessionDep) -> ReceiptOut:
    return await usecases.receipt(session, payment)


@router.post(
    "/v1/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundOut,
    summary="Refund (part of) a patient payment",
    description="Requires `payments:write` and an `Idempotency-Key`. At most what is left of the payment. "
    "Its unapplied credit is refunded first, then the items it paid, newest first; those are paid again "
    "from the account's other credit while there is any, and owe again only beyond it.",
)
async def refund_payment(
    payment_id: uuid.UUID,
    body: RefundIn,
    session: SessionDep,
    trail: CreateRefund,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:

    async def write() -> RefundOut:
        # Loaded inside the key's transaction: a missing key is a 400 before any 404.
        payment = await usecases.payment_or_404(session, payment_id)
        trail.patient_id = payment.account_id
        refunded = await usecases.refund(session, payment, body, trail.actor)
        trail.resource_id = str(refunded.id)
        return refunded

    outcome = await idempotent_write(
        session,
        scope=f"refund:{payment_id}",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
    )
    return outcome.response()
