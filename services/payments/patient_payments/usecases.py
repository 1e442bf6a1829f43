"""Posting, refunding and reading patient payments. The payment, its ledger rows, the
stored idempotent response and the `payment.posted` event commit in one transaction, which
the caller (the idempotent write) owns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store as ledger, usecases as accounts
from services.payments.accounts.domain import Entry, spread
from services.payments.collections import usecases as collections
from services.payments.limits import usecases as limits
from services.payments.patient_payments import store
from services.payments.patient_payments.domain import (
    ZERO,
    Split,
    cover,
    credit_cover_entries,
    receipt_number,
    refund_order,
    settlement_batch,
)
from services.payments.patient_payments.schemas import (
    Allocation,
    PaymentIn,
    PaymentOut,
    ReceiptOut,
    RefundIn,
    RefundOut,
)
from services.payments.patient_payments.tables import PatientPayment
from services.payments.plans import usecases as plans
from shared.events import new_event
from shared.events.catalogue import PaymentPosted
from shared.outbox import add_event
from shared.problems import FieldError, ProblemError


async def post_payment(
    session: AsyncSession, account_id: str, body: PaymentIn, posted_by: str, account_field: str | None = None
) -> PaymentOut:
    """Record the payment, its ledger rows (one per item paid), the plan installments it
    pays and the event; for an account payments knows only (else 404, or a 422 naming
    `account_field` when the id came in the body). Over the practice's maximum patient payment
    it is a 422 (`max_patient_payment`) and nothing is written."""
    await limits.require_within(session, "patient_payment", body.amount, "body.amount")
    now = datetime.now(UTC)
    await ledger.lock_account(session, account_id)
    await accounts.require_account(session, account_id, account_field)
    payment = PatientPayment(
        id=uuid.uuid4(),
        account_id=account_id,
        amount=body.amount,
        method=body.method,
        reference=body.reference,
        settlement_batch=settlement_batch(body.method, body.settlement_batch, now),
        receipt_number=receipt_number(now),
        posted_by=posted_by,
        posted_at=now,
    )
    await store.add_payment(session, payment)
    allocations = await allocate(session, account_id, body.amount, body.apply_to)
    entries = [
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
    ]
    await ledger.append(session, entries, now)
    await plans.apply_payment(session, account_id, body.amount)
    await collections.recall_paid(session, entries, now)  # a payment after referral recalls the account
    posted = PaymentPosted(
        payment_id=payment.id,
        source="patient",
        account_id=account_id,
        amount=body.amount,
        method=body.method,
        posted_at=now,
        receipt_number=payment.receipt_number,
    )
    add_event(session, new_event(posted))
    return PaymentOut(
        id=payment.id,
        account_id=account_id,
        amount=body.amount,
        method=body.method,
        reference=body.reference,
        settlement_batch=payment.settlement_batch,
        receipt_number=payment.receipt_number,
        posted_at=now,
        allocations=[Allocation(item_id=i, amount=a) for i, a in allocations],
    )


async def allocate(
    session: AsyncSession, account_id: str, amount: Decimal, apply_to: uuid.UUID | None
) -> Split:
    """Split an amount over the patient's open items: the named one first, then oldest
    service date first; what is left is unapplied credit."""
    items = [i for i in await ledger.open_items(session, account_id) if i.patient_due > 0]
    if apply_to is not None:
        items.sort(key=lambda i: i.item_id != apply_to)
    return spread(amount, [(i.item_id, i.patient_due) for i in items])


async def payment_or_404(session: AsyncSession, payment_id: uuid.UUID) -> PatientPayment:
    payment = await store.get_payment(session, payment_id)
    if payment is None:
        raise ProblemError(404, "not-found", "Payment not found")
    return payment


async def receipt(session: AsyncSession, payment: PatientPayment) -> ReceiptOut:
    """The payment, what of it is still applied per item, and its refunds."""
    refunds = await store.refunds(session, payment.id)
    return ReceiptOut(
        payment_id=payment.id,
        receipt_number=payment.receipt_number,
        account_id=payment.account_id,
        amount=payment.amount,
        method=payment.method,
        reference=payment.reference,
        settlement_batch=payment.settlement_batch,
        posted_at=payment.posted_at,
        applied=[Allocation(item_id=i, amount=a) for i, a in await store.applied(session, payment.id)],
        refunded=sum((Decimal(r.amount) for r in refunds), ZERO),
        refunds=[dict(r._mapping) for r in refunds],
    )


async def refund(
    session: AsyncSession, payment: PatientPayment, body: RefundIn, refunded_by: str
) -> RefundOut:
    """Give back at most what is left of the payment: its unapplied credit first, then the
    items it paid, newest first; an item it gave back is paid again from the account's other
    credit (other payments' unapplied money, oldest first), so nothing owes again while credit
    covers it. The ledger shows both: the refund rows, and the credit moved onto the items
    (rows of the payments it came from, carrying the refund's id). Over the practice's maximum
    refund it is a 422 (`max_refund`)."""
    await limits.require_within(session, "refund", body.amount, "body.amount")
    await ledger.lock_account(session, payment.account_id)
    applied = await store.applied(session, payment.id)
    refundable = sum((a for _, a in applied), ZERO)
    if body.amount > refundable:
        raise ProblemError(
            422,
            "refund-too-large",
            "The refund is larger than what is left of the payment",
            f"At most {refundable} can be refunded.",
            errors=[FieldError(field="body.amount", rule="max_refundable", message=f"At most {refundable}.")],
        )
    refund_id, now = uuid.uuid4(), datetime.now(UTC)
    await store.add_refund(
        session,
        id=refund_id,
        payment_id=payment.id,
        amount=body.amount,
        reason=body.reason,
        refunded_by=refunded_by,
        refunded_at=now,
    )
    # Never a rest: the amount is at most what is applied.
    taken = spread(body.amount, refund_order(applied))
    entries = [
        Entry(
            account_id=payment.account_id,
            entry_type="refund",
            amount=take,
            bucket="patient",
            item_id=item,
            payment_id=payment.id,
            refund_id=refund_id,
            description="Refund of patient payment",
        )
        for item, take in taken
    ]
    reopened = [(item, take) for item, take in taken if item is not None]
    sources = await ledger.credit_sources(session, payment.account_id, excluding=payment.id)
    entries += credit_cover_entries(payment.account_id, refund_id, cover(reopened, sources))
    await ledger.append(session, entries, now)
    return RefundOut(
        id=refund_id,
        payment_id=payment.id,
        account_id=payment.account_id,
        amount=body.amount,
        refunded_at=now,
    )
