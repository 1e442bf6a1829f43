"""HTTP for matching a parked remittance claim by hand: a preview, and the match."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.payments.approvals import usecases as approvals
from services.payments.matching import usecases
from services.payments.matching.schemas import MatchCheck, MatchIn, MatchOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import Problem

router = APIRouter(prefix="/v1/unmatched", tags=["remittances"])
PreviewMatch = Annotated[
    AuditTrail, audited("unmatched_claim", "match_preview", require_scopes("payments:read"))
]
MatchUnmatched = Annotated[AuditTrail, audited("unmatched_claim", "match", require_scopes("payments:write"))]
MatchClaim = Annotated[AuditTrail, audited("claim", "match", require_scopes("payments:write"))]


@router.get(
    "/{unmatched_id}/match-preview",
    response_model=MatchCheck,
    summary="Compare a parked remittance claim with a claim before matching them",
    description="The 835 claim (CLP01-07, the remittance's payer) beside the claim (payer, charge, what is "
    "open with insurance and the patient), and what does not agree: another payer is refused without an "
    "approved override; a different patient control number or charge is a warning.",
)
async def preview(
    unmatched_id: uuid.UUID,
    session: SessionDep,
    trail: PreviewMatch,
    claim_id: Annotated[uuid.UUID, Query(description="The claim considered.")],
) -> MatchCheck:
    trail.resource_id = str(unmatched_id)
    found = await usecases.preview(session, unmatched_id, claim_id)
    trail.patient_id = found.claim.account_id
    return found


@router.post(
    "/{unmatched_id}/match",
    response_model=MatchOut,
    summary="Post a parked remittance claim to a claim of the same payer",
    description="Answers the amounts side by side and the warnings. A claim of another payer is refused "
    "(422, rule `same_payer`) unless `override_reason` is given: then the match waits for a second "
    "person (202, an approval of kind `match_override`). Every match is audited under both ids.",
    responses={
        202: {"description": "Waiting for approval"},
        409: {"model": Problem},
        422: {"model": Problem},
    },
)
async def match(
    unmatched_id: uuid.UUID,
    body: MatchIn,
    session: SessionDep,
    trail: MatchUnmatched,
    claim_trail: MatchClaim,
) -> MatchOut | JSONResponse:
    trail.resource_id, claim_trail.resource_id = str(unmatched_id), str(body.claim_id)
    done = await usecases.match(session, unmatched_id, body, trail.actor)
    if not isinstance(done, MatchOut):
        trail.patient_id = claim_trail.patient_id = done.summary["account_id"]
        return approvals.pending_response(done)
    trail.patient_id = claim_trail.patient_id = done.claim.account_id
    return done
