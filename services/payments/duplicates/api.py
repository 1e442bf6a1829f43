"""HTTP for the possible-duplicate queue: 835 claims whose adjudication was posted before,
parked with both remittances, and their resolutions (audited, with a reason, once per
Idempotency-Key)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from services.payments.duplicates import usecases
from services.payments.duplicates.schemas import PossibleDuplicateOut, RefundIn, ResolveIn, Status
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import Problem

router = APIRouter(prefix="/v1/possible-duplicates", tags=["remittances"])
ListDuplicates = Annotated[AuditTrail, audited("possible_duplicate", "list", require_scopes("payments:read"))]
ReadDuplicate = Annotated[AuditTrail, audited("possible_duplicate", "read", require_scopes("payments:read"))]
ResolveDuplicate = Annotated[
    AuditTrail, audited("possible_duplicate", "resolve", require_scopes("payments:admin"))
]
RefundDuplicate = Annotated[
    AuditTrail, audited("possible_duplicate", "refund", require_scopes("payments:admin"))
]
DuplicatePage = Annotated[PageQuery, Depends(page_query(100, 500))]
ItemId = Annotated[uuid.UUID, Path(description="The possible duplicate.")]


async def get_current_duplicate(
    item_id: ItemId, session: SessionDep, trail: ReadDuplicate
) -> PossibleDuplicateOut:
    """The item, or 404; its read audited under its id and account."""
    trail.resource_id = str(item_id)
    item = await usecases.get(session, item_id)
    if item is None:
        raise usecases.not_found()
    trail.patient_id = item.account_id
    return item


CurrentDuplicate = Annotated[PossibleDuplicateOut, Depends(get_current_duplicate)]


@router.get(
    "",
    response_model=CursorPage[PossibleDuplicateOut],
    summary="Possible duplicate payments: claims paid again in another file or trace, oldest first",
    description="Each 835 claim (not a reversal) whose adjudication — payer, CLP01, CLP07 — already had a "
    "live posting, beside that posting: both remittances (trace, BPR16 date), both CLPs and their "
    "adjustments. Nothing of it was posted: no ledger entry, no payment.posted. `status` is open by default.",
)
async def list_duplicates(
    session: SessionDep,
    trail: ListDuplicates,
    page: DuplicatePage,
    dates: Dates,
    status: Status | None = "open",
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
    remittance_id: uuid.UUID | None = None,
    claim_id: uuid.UUID | None = None,
) -> CursorPage[PossibleDuplicateOut]:
    items, cursor = await usecases.page(
        session, page, dates, status=status, payer_id=payer_id, remittance_id=remittance_id, claim_id=claim_id
    )
    trail.saw_in(items, "account_id")  # the audit names every patient account listed
    return CursorPage[PossibleDuplicateOut](items=items, next_cursor=cursor)


@router.get(
    "/{item_id}", response_model=PossibleDuplicateOut, summary="One possible duplicate, both remittances"
)
async def get_duplicate(item: CurrentDuplicate) -> PossibleDuplicateOut:
    return item


@router.post(
    "/{item_id}/resolve",
    response_model=PossibleDuplicateOut,
    summary="Resolve a possible duplicate (payments:admin, a reason, Idempotency-Key)",
    description="`not-a-duplicate` posts it through the posting path; `duplicate-payer-paid-twice` records "
    "the money as owed back to the payer (a payer credit balance, listed in `/v1/forward-balances` under "
    "the CLP07, that the payer's later PLB WO/FB recovers or a refund closes), never as a second payment "
    "on the claim; `duplicate-file-no-money` dismisses it. Resolved once (409 after).",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def resolve(
    item_id: ItemId,
    body: ResolveIn,
    session: SessionDep,
    trail: ResolveDuplicate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.resource_id = str(item_id)
    outcome = await idempotent_write(
        session,
        scope=f"possible-duplicate-resolve:{item_id}",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=partial(usecases.resolve, session, item_id, body, trail.actor),
        status_code=200,
    )
    trail.patient_id = outcome.body["account_id"]
    return outcome.response()


@router.post(
    "/{item_id}/refund",
    response_model=PossibleDuplicateOut,
    summary="Record the refund sent to a payer that paid twice (payments:admin, Idempotency-Key)",
    description="Closes the payer credit balance the resolution opened, by this item's amount. 409 when "
    "the item is not `payer_paid_twice`, was refunded, or the payer already took the credit back.",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def refund(
    item_id: ItemId,
    body: RefundIn,
    session: SessionDep,
    trail: RefundDuplicate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.resource_id = str(item_id)
    outcome = await idempotent_write(
        session,
        scope=f"possible-duplicate-refund:{item_id}",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=partial(usecases.refund, session, item_id, body, trail.actor),
        status_code=200,
    )
    trail.patient_id = outcome.body["account_id"]
    return outcome.response()
