"""Follow-up list: claims with no answer inside their payer's window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.claims.claims.domain import now
from services.claims.followups import usecases
from services.claims.followups.schemas import FollowupOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import AsOfMoment, CursorPage, PageQuery, page_query

router = APIRouter(prefix="/v1/followups", tags=["follow-up"])

ListTrail = Annotated[AuditTrail, audited("followup", "list", require_scopes("claims:read"))]
FollowupPage = Annotated[PageQuery, Depends(page_query(default=200, maximum=1000))]


@router.get(
    "",
    response_model=CursorPage[FollowupOut],
    summary="Claims with no answer inside the payer's window",
)
async def list_followups(
    session: SessionDep,
    trail: ListTrail,
    page: FollowupPage,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    as_of: Annotated[
        AsOfMoment | None, Query(description="Overdue by this moment (default now); a date: by its end.")
    ] = None,
) -> CursorPage[FollowupOut]:
    worklist = await usecases.overdue_page(session, page, as_of or now(), payer_id)
    trail.saw_in(worklist)  # the audit names every patient on the worklist shown
    return worklist
