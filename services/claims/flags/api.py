"""Claim flags API: a claim's flags, the work list of open flags, and resolving one.

Reads need `claims:read`, resolving `claims:write`; every call is audited with the patients
it showed (a flag names a patient's claim). Resolving with outcome `corrected` sends the
corrected claim (the submission's one follow-on command) and that resolves the flag."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.claims.claims import usecases as claims
from services.claims.flags import usecases
from services.claims.flags.schemas import FlagFilters, FlagOut, FlagResolution
from services.claims.flags.tables import ClaimFlag
from services.claims.submission import usecases as submission
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, Page
from shared.problems import Problem

router = APIRouter(tags=["claim flags"])

ListTrail = Annotated[AuditTrail, audited("claim_flag", "list", require_scopes("claims:read"))]
_resolve = audited("claim_flag", "resolve", require_scopes("claims:write"))


def _current_flag(trail: Any) -> Any:
    """Load-or-404 (locked) of the flag a route resolves; the audit names it and its patient."""

    async def get_current_flag(
        flag_id: uuid.UUID, session: SessionDep, audit: AuditTrail = trail
    ) -> ClaimFlag:
        audit.resource_id = str(flag_id)
        flag = await usecases.get_flag(session, flag_id, lock=True)
        audit.patient_id = flag.patient_id
        return flag

    return Depends(get_current_flag)


ResolveTrail = Annotated[AuditTrail, _resolve]
FlagToResolve = Annotated[ClaimFlag, _current_flag(_resolve)]
# The resolving route runs in the transaction its SELECT ... FOR UPDATE began, and commits it.


@router.get(
    "/v1/claims/{claim_id}/flags",
    response_model=CursorPage[FlagOut],
    summary="A claim's flags (coverage changes that affect it), newest first",
    responses={404: {"model": Problem}},
)
async def list_claim_flags(
    claim_id: uuid.UUID, session: SessionDep, trail: ListTrail, page: Page
) -> CursorPage[FlagOut]:
    trail.resource_id = str(claim_id)
    claim = await claims.get_claim(session, claim_id)
    trail.patient_id = claim.patient_id
    listed = await usecases.list_flags(session, page, claim_id=claim_id)
    trail.saw(item.patient_id for item in listed.items)
    return listed


@router.get(
    "/v1/claim-flags",
    response_model=CursorPage[FlagOut],
    summary="The flags work list (`status=open`: what staff still have to do), newest first",
    description="date_from/date_to bound when the flag was raised.",
)
async def list_flags(
    session: SessionDep,
    trail: ListTrail,
    filters: Annotated[FlagFilters, Depends()],
    dates: Dates,
    page: Page,
) -> CursorPage[FlagOut]:
    listed = await usecases.list_flags(session, page, filters=filters, dates=dates)
    trail.saw(item.patient_id for item in listed.items)  # the audit names every patient shown
    return listed


@router.post(
    "/v1/claim-flags/{flag_id}/resolve",
    response_model=FlagOut,
    summary="Resolve or dismiss a flag with a note, or resolve it by sending the corrected claim",
    description="`corrected` (member_id_corrected flags only) sends the corrected claim (frequency 7, "
    "REF*F8 the payer's claim control number, the member id on file now), as POST "
    "/v1/claims/{id}/corrections does; a second correction of the claim is a 409 naming the first.",
    responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}},
)
async def resolve_flag(
    flag: FlagToResolve, body: FlagResolution, session: SessionDep, trail: ResolveTrail
) -> FlagOut:
    if body.outcome == "corrected":
        usecases.check_correctable(flag)
        claim = await claims.get_claim(session, flag.claim_id, lock=True)
        await submission.follow_on(session, claim, "7", {}, trail.actor, note=body.note)
        await session.refresh(flag)
    else:
        await usecases.resolve(session, flag, body.outcome, body.note, trail.actor)
    await session.commit()
    return FlagOut.model_validate(flag, from_attributes=True)
