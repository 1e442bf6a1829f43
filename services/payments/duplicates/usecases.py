"""Working the possible-duplicate queue: the list and one item with both remittances, and the
three resolutions (post it after all through the one posting path; the payer paid twice: a
payer credit balance; the 835 came twice without the money: dismiss), and the refund that
closes a payer credit balance. Parking happens where claims are posted (`postings`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.claimcopies import store as claimcopies
from services.payments.duplicates import domain, store
from services.payments.duplicates.schemas import PossibleDuplicateOut, RefundIn, Resolution, ResolveIn
from services.payments.postings.domain import RemittanceRef, claim_from_json
from services.payments.postings.usecases import PostingBatch, parked_adjustments, post_claim
from services.payments.provider_adjustments import usecases as credits
from services.payments.underpayments.usecases import contract_check
from shared.paging import DateRange, PageQuery
from shared.problems import ProblemError


def not_found() -> ProblemError:
    return ProblemError(404, "not-found", "Possible duplicate not found")


async def page(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    status: str | None,
    payer_id: str | None,
    remittance_id: uuid.UUID | None,
    claim_id: uuid.UUID | None,
) -> tuple[list[PossibleDuplicateOut], str | None]:
    """One page of the queue, oldest first, each item with both remittances."""
    rows, cursor = await store.page(
        session, page, dates, status=status, payer_id=payer_id, remittance_id=remittance_id, claim_id=claim_id
    )
    found = await store.side_by_side(session, (r.id for r in rows))
    return [out(found[r.id]) for r in rows], cursor


async def get(session: AsyncSession, item_id: uuid.UUID) -> PossibleDuplicateOut | None:
    found = await store.side_by_side(session, [item_id])
    return out(found[item_id]) if item_id in found else None


def out(row: Any) -> PossibleDuplicateOut:
    """An item with the original posting and the remittance that repeats it, side by side."""
    duplicate = claim_from_json(row.claim)
    return PossibleDuplicateOut.model_validate(
        {
            **row._mapping,
            "original": {
                "remittance_id": row.original_remittance_id,
                "trace_number": row.original_trace_number,
                "paid_date": row.original_paid_date,
                "received_at": row.original_received_at,
                "status_code": row.original_status_code,
                "charge": row.original_charge,
                "paid": row.original_paid,
                "patient_responsibility": row.original_pr,
                "adjustments": row.original_adjustments,
                "posting_id": row.original_posting_id,
                "posted_at": row.original_posted_at,
            },
            "duplicate": {
                "remittance_id": row.remittance_id,
                "trace_number": row.duplicate_trace_number,
                "paid_date": row.duplicate_paid_date,
                "received_at": row.duplicate_received_at,
                "status_code": duplicate.status_code,
                "charge": duplicate.charge,
                "paid": duplicate.paid,
                "patient_responsibility": duplicate.patient_responsibility,
                "adjustments": parked_adjustments(row.claim),
            },
        }
    )


async def _open(session: AsyncSession, item_id: uuid.UUID) -> Any:
    """The item, locked; 404 when there is none, 409 when it was resolved."""
    row = await store.lock(session, item_id)
    if row is None:
        raise not_found()
    if row.status != domain.OPEN:
        raise ProblemError(
            409,
            "already-resolved",
            "This possible duplicate was resolved",
            f"It is {row.status}.",
            retryable=False,
        )
    return row


async def resolve(session: AsyncSession, item_id: uuid.UUID, body: ResolveIn, actor: str) -> dict[str, Any]:
    """Resolve an open item, in the caller's transaction; the answer is the item as it is now."""
    row = await _open(session, item_id)
    now = datetime.now(UTC)
    values: dict[str, Any] = {"resolution_reason": body.reason, "resolved_by": actor, "resolved_at": now}
    if body.action == Resolution.not_a_duplicate:
        values.update(status=domain.POSTED, resolved_posting_id=await _post(session, row, now))
    elif body.action == Resolution.payer_paid_twice:
        credit_id = await credits.open_payer_credit(
            session,
            payer_id=row.payer_id,
            reference=row.payer_claim_control_number or row.patient_control_number,
            claim_id=row.claim_id,
            account_id=row.account_id,
            amount=domain.credit_amount(row.paid),
            remittance_id=row.remittance_id,
            now=now,
        )
        values.update(status=domain.PAYER_PAID_TWICE, credit_balance_id=credit_id)
    else:
        values.update(status=domain.NO_MONEY)
    await store.resolve(session, item_id, values)
    return (await _answer(session, item_id)).model_dump(mode="json")


async def _post(session: AsyncSession, row: Any, now: datetime) -> uuid.UUID:
    """Post the parked claim after all, through the one posting path, to the claim its
    adjudication was posted to (a payment.posted, ledger entries, underpayment checks)."""
    copy = await claimcopies.get(session, row.claim_id)
    if copy is None:
        raise ProblemError(409, "claim-unknown", "The claim of the original posting is not known here")
    claim = claim_from_json(row.claim)
    ref = RemittanceRef(row.remittance_id, row.payer_id, row.trace_number, row.method, row.paid_date)
    batch = PostingBatch(
        now=now,
        contract=await contract_check(
            session, [row.payer_id], [line.code for line in claim.lines], [copy.claim_id]
        ),
    )
    reason = await post_claim(session, batch, ref, claim, copy, matched_by="possible_duplicate")
    if reason is not None:
        raise ProblemError(409, "cannot-post", "The claim cannot be posted", reason)
    posting_id: uuid.UUID = batch.postings[0]["id"]
    await batch.flush(session)
    return posting_id


async def refund(session: AsyncSession, item_id: uuid.UUID, body: RefundIn, actor: str) -> dict[str, Any]:
    """The practice refunded the payer what it paid twice: its credit balance closes by that
    amount. 409 unless the item is paid twice, not refunded, and its credit still open (a
    later 835 may have taken it back already)."""
    row = await store.lock(session, item_id)
    if row is None:
        raise not_found()
    if row.status != domain.PAYER_PAID_TWICE or row.refunded_at is not None:
        raise ProblemError(
            409, "not-refundable", "Only an unrefunded duplicate the payer paid twice is refunded"
        )
    now = datetime.now(UTC)
    settled = await credits.settle_payer_credit(
        session,
        payer_id=row.payer_id,
        reference=row.payer_claim_control_number or row.patient_control_number,
        amount=domain.credit_amount(row.paid),
        now=now,
    )
    if not settled:
        raise ProblemError(409, "credit-recovered", "The payer already took this credit back in a later 835")
    await store.record_refund(
        session,
        item_id,
        {
            "refund_reference": body.reference,
            "refund_reason": body.reason,
            "refunded_by": actor,
            "refunded_at": now,
        },
    )
    return (await _answer(session, item_id)).model_dump(mode="json")


async def _answer(session: AsyncSession, item_id: uuid.UUID) -> PossibleDuplicateOut:
    found = await get(session, item_id)
    assert found is not None
    return found
