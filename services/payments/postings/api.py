"""HTTP for the unmatched queue: remittance claims waiting for a claim, and matching one by hand."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.payments.postings import usecases
from services.payments.postings.schemas import UnmatchedOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query

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
