"""HTTP for the unmatched queue: remittance claims waiting for a claim, and matching one by hand."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.payments.postings import usecases
from services.payments.postings.schemas import MatchIn, MatchOut, UnmatchedOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import FieldError, ProblemError

router = APIRouter(tags=["remittances"])
ListUnmatched = Annotated[AuditTrail, audited("unmatched_claim", "list", require_scopes("payments:read"))]
MatchUnmatched = Annotated[AuditTrail, audited("unmatched_claim", "match", require_scopes("payments:write"))]
UnmatchedPage = Annotated[PageQuery, Depends(page_query(200, 1000))]


@router.get(
    "/v1/unmatched",
    response_model=CursorPage[UnmatchedOut],
    summary="Remittance claims waiting for a match, with what finds their claim",
    description="Each parked 835 claim with the patient (loop 2100 NM1*QC) and insured (NM1*IL) names "
    "and member ids, the dates of service (DTM*232/233, DTM*472), charge, paid, patient responsibility, "
    "the adjustments, and the remittance's payer, trace (TRN02) and date (BPR16). This is PHI: the "
    "list needs `payments:read`, every read is audited, and none of it is logged.",
)
async def list_unmatched(
    session: SessionDep,
    _: ListUnmatched,
    page: UnmatchedPage,
    dates: Dates,
    remittance_id: uuid.UUID | None = None,
    include_resolved: bool = False,
) -> CursorPage[UnmatchedOut]:
    items, cursor = await usecases.list_unmatched(
        session, page, dates, remittance_id=remittance_id, include_resolved=include_resolved
    )
    return CursorPage[UnmatchedOut](items=items, next_cursor=cursor)


@router.post(
    "/v1/unmatched/{unmatched_id}/match",
    response_model=MatchOut,
    summary="Post a parked remittance claim to a claim chosen by hand",
)
async def match(
    unmatched_id: uuid.UUID, body: MatchIn, session: SessionDep, trail: MatchUnmatched
) -> MatchOut:
    trail.resource_id = str(unmatched_id)
    done = await usecases.match_by_hand(session, unmatched_id, body.claim_id, trail.actor)
    if done.copy is None:
        raise ProblemError(
            422,
            "unknown-claim",
            "No such claim",
            errors=[
                FieldError(field="body.claim_id", rule="exists", message="No claim.submitted with this id.")
            ],
        )
    trail.patient_id = done.copy.account_id
    if done.posting_id is None:
        raise ProblemError(
            409,
            "not-open",
            "This item is already resolved or cannot be posted to that claim",
            retryable=False,
        )
    return MatchOut(unmatched_id=unmatched_id, posting_id=done.posting_id, claim_id=body.claim_id)
