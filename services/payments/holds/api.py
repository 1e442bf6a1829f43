"""HTTP for held sets: the review queue of conflicts and their resolution, the queue of sets
waiting for their payer, and registering or mapping a payer (which posts what waited)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.payments.holds import usecases
from services.payments.holds.schemas import PayerOut, ResolveIn
from services.payments.receipts.schemas import SetOut
from services.payments.remittances.schemas import PayerId, PayerIn
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import Problem, ProblemError

router = APIRouter(tags=["remittances"])
ListReviews = Annotated[AuditTrail, audited("remittance_review", "list", require_scopes("payments:read"))]
ReadReview = Annotated[AuditTrail, audited("remittance_review", "read", require_scopes("payments:read"))]
ResolveReview = Annotated[
    AuditTrail, audited("remittance_review", "resolve", require_scopes("payments:admin"))
]
ListWaiting = Annotated[AuditTrail, audited("payer_needed", "list", require_scopes("payments:read"))]
UpdatePayer = Annotated[AuditTrail, audited("payer", "update", require_scopes("payments:admin"))]
HeldPage = Annotated[PageQuery, Depends(page_query(100, 500))]
IncludeResolved = Annotated[bool, Query(description="Also list what was resolved.")]


def _not_found() -> ProblemError:
    return ProblemError(404, "not-found", "Remittance review not found")


def _page(rows: list, cursor: str | None) -> CursorPage[SetOut]:
    return CursorPage[SetOut](items=[SetOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/v1/remittance-reviews",
    response_model=CursorPage[SetOut],
    summary="Sets held for review: the payer and trace number of a posted remittance, other content",
)
async def list_reviews(
    session: SessionDep,
    _: ListReviews,
    page: HeldPage,
    dates: Dates,
    trace_number: Annotated[str | None, Query(max_length=50)] = None,
    include_resolved: IncludeResolved = False,
) -> CursorPage[SetOut]:
    rows, cursor = await usecases.reviews(
        session, page, dates, trace_number=trace_number, include_resolved=include_resolved
    )
    return _page(list(rows), cursor)


@router.get(
    "/v1/remittance-reviews/{set_id}",
    response_model=SetOut,
    summary="One held (or resolved) conflict",
    responses={404: {"model": Problem}},
)
async def get_review(set_id: uuid.UUID, session: SessionDep, trail: ReadReview) -> SetOut:
    trail.resource_id = str(set_id)
    row = await usecases.review(session, set_id)
    if row is None:
        raise _not_found()
    return SetOut.model_validate(row)


@router.post(
    "/v1/remittance-reviews/{set_id}/resolve",
    response_model=SetOut,
    summary="Resolve a conflict: post it as an additional remittance, replace the original, or dismiss it",
    description="Needs `payments:admin`. `replace` reverses the original remittance's claim postings (the "
    "exact opposite ledger entries and a `payment.posted` with CLP02 22 each, as a payer's reversal does), "
    "takes its parked claims out of the unmatched queue, then posts this set. Every resolution keeps who, "
    "when, what and why on the set and in the audit trail; a set is resolved once (409 after).",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def resolve_review(
    set_id: uuid.UUID, body: ResolveIn, session: SessionDep, trail: ResolveReview
) -> SetOut:
    trail.resource_id = str(set_id)
    row = await usecases.resolve(session, set_id, body.action, body.reason, trail.actor)
    if row is None:
        raise _not_found()
    return SetOut.model_validate(row)


@router.get(
    "/v1/payer-needed",
    response_model=CursorPage[SetOut],
    summary="Transaction sets waiting for their payer, with its name (N1*PR N102) and identifiers",
    description="Each shows what the 835 says of its payer: N1*PR N102 (`payer_name`) and, in "
    "`payer_identifiers`, N1*PR N104, REF*2U (or EO, HI, NF) and TRN03. Register or map the payer with "
    "`PUT /v1/payers/{payer_id}` and its sets post at once.",
)
async def list_payer_needed(
    session: SessionDep,
    _: ListWaiting,
    page: HeldPage,
    dates: Dates,
    include_resolved: IncludeResolved = False,
) -> CursorPage[SetOut]:
    rows, cursor = await usecases.payer_needed(session, page, dates, include_resolved=include_resolved)
    return _page(list(rows), cursor)


@router.put(
    "/v1/payers/{payer_id}",
    response_model=PayerOut,
    summary="Register a payer and the identifiers its 835s carry; what waited for it posts now",
)
async def put_payer(payer_id: PayerId, body: PayerIn, session: SessionDep, trail: UpdatePayer) -> PayerOut:
    trail.resource_id = payer_id
    released = await usecases.map_payer(session, payer_id, body.name, body.identifiers, trail.actor)
    return PayerOut(
        payer_id=payer_id,
        name=body.name,
        identifiers=body.identifiers,
        released=[SetOut.model_validate(r) for r in released],
    )
