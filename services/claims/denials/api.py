"""Denials work queue and appeals: who works which denial, what was sent, how it ended."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from services.claims.claims import usecases as claims
from services.claims.claims.domain import now
from services.claims.claims.tables import Claim
from services.claims.denials import usecases
from services.claims.denials.schemas import (
    AppealIn,
    AppealOut,
    AppealOutcomeIn,
    AssignIn,
    DenialFilters,
    DenialOut,
    ResolveIn,
)
from services.claims.denials.tables import Appeal, Denial
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.paging import CursorPage, Page, PageQuery, page_query
from shared.problems import Problem

router = APIRouter(tags=["denials"])


def _current_denial(trail: Any) -> Any:
    """Load-or-404 (locked) of the denial a route changes; the audit entry names it and its patient."""

    async def get_current_denial(
        denial_id: uuid.UUID, session: SessionDep, audit: AuditTrail = trail
    ) -> Denial:
        audit.resource_id = str(denial_id)
        denial = await usecases.get_denial(session, denial_id, lock=True)
        audit.patient_id = denial.patient_id
        return denial

    return Depends(get_current_denial)


def _current_claim(trail: Any, *, lock: bool) -> Any:
    """Load-or-404 of the claim whose appeals a route reads or changes; the audit entry names
    its patient (the route names the resource: the claim, or the appeal)."""

    async def get_current_claim(claim_id: uuid.UUID, session: SessionDep, audit: AuditTrail = trail) -> Claim:
        claim = await claims.get_claim(session, claim_id, lock=lock)
        audit.patient_id = claim.patient_id
        return claim

    return Depends(get_current_claim)


_assign = audited("denial", "assign", require_scopes("claims:write"))
_resolve = audited("denial", "resolve", require_scopes("claims:write"))
_file = audited("appeal", "create", require_scopes("claims:write"))
_appeals = audited("appeal", "list", require_scopes("claims:read"))

QueueTrail = Annotated[AuditTrail, audited("denial", "list", require_scopes("claims:read"))]
AssignTrail = Annotated[AuditTrail, _assign]
ResolveTrail = Annotated[AuditTrail, _resolve]
FileTrail = Annotated[AuditTrail, _file]
AppealsTrail = Annotated[AuditTrail, _appeals]
DecideTrail = Annotated[AuditTrail, audited("appeal", "decide", require_scopes("claims:write"))]
DenialToAssign = Annotated[Denial, _current_denial(_assign)]
DenialToResolve = Annotated[Denial, _current_denial(_resolve)]
ClaimWithAppeals = Annotated[Claim, _current_claim(_appeals, lock=False)]
QueuePage = Annotated[PageQuery, Depends(page_query(default=100, maximum=500))]
# Routes taking a locked row run in the transaction its SELECT ... FOR UPDATE began, and commit it.


async def get_current_appeal(
    claim_id: uuid.UUID, appeal_id: uuid.UUID, session: SessionDep, trail: DecideTrail
) -> Appeal:
    """Load-or-404 (locked) of an appeal and its claim; the audit entry names the appeal."""
    trail.resource_id = str(appeal_id)
    claim = await claims.get_claim(session, claim_id, lock=True)
    trail.patient_id = claim.patient_id
    return await usecases.get_appeal(session, claim, appeal_id)


AppealToDecide = Annotated[Appeal, Depends(get_current_appeal)]


@router.get(
    "/v1/denials", response_model=CursorPage[DenialOut], summary="The denials work queue, oldest first"
)
async def list_denials(
    session: SessionDep, trail: QueueTrail, filters: Annotated[DenialFilters, Depends()], page: QueuePage
) -> CursorPage[DenialOut]:
    queue = await usecases.queue(session, filters, page)
    trail.saw_in(queue)  # the audit names every patient in the work queue shown
    return queue


@router.post("/v1/denials/{denial_id}/assign", response_model=DenialOut, summary="Give a denial to someone")
async def assign_denial(denial: DenialToAssign, body: AssignIn, session: SessionDep) -> DenialOut:
    usecases.assign(session, denial, body.assignee)
    await session.commit()
    return usecases.denial_out(denial, now())


@router.post(
    "/v1/denials/{denial_id}/resolve", response_model=DenialOut, summary="Close a denial with how it ended"
)
async def resolve_denial(
    denial: DenialToResolve, body: ResolveIn, session: SessionDep, trail: ResolveTrail
) -> DenialOut:
    await usecases.resolve(session, denial, body, trail.actor)
    await session.commit()
    return usecases.denial_out(denial, now())


@router.post(
    "/v1/claims/{claim_id}/appeals",
    status_code=status.HTTP_201_CREATED,
    response_model=AppealOut,
    summary="Appeal a denial; the letter is generated",
    description="An optional `Idempotency-Key` makes a retry answer the first appeal (the claim is "
    "loaded and locked inside the key's transaction).",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def file_appeal(
    claim_id: uuid.UUID,
    body: AppealIn,
    session: SessionDep,
    trail: FileTrail,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:

    async def write() -> AppealOut:
        claim = await claims.get_claim(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        appeal = await usecases.file_appeal(session, claim, body, trail.actor)
        return AppealOut.model_validate(appeal, from_attributes=True)

    outcome = await idempotent_write(
        session,
        scope=f"appeal:{claim_id}",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
    )
    trail.resource_id = str(outcome.body["id"])
    if outcome.replayed:  # the letter is PHI: the audit entry names its patient on a replay too
        trail.patient_id = (await claims.get_claim(session, claim_id)).patient_id
    return outcome.response()


@router.get(
    "/v1/claims/{claim_id}/appeals", response_model=CursorPage[AppealOut], summary="A claim's appeals"
)
async def list_appeals(
    claim: ClaimWithAppeals,
    session: SessionDep,
    trail: AppealsTrail,
    page: Page,
) -> CursorPage[AppealOut]:
    trail.resource_id = str(claim.id)
    return await usecases.appeals(session, claim, page)


@router.post(
    "/v1/claims/{claim_id}/appeals/{appeal_id}/outcome",
    response_model=AppealOut,
    summary="Record the payer's decision on an appeal",
)
async def appeal_outcome(
    appeal: AppealToDecide, body: AppealOutcomeIn, session: SessionDep, trail: DecideTrail
) -> AppealOut:
    await usecases.decide_appeal(session, appeal, body.outcome, body.note, trail.actor)
    await session.commit()
    return AppealOut.model_validate(appeal, from_attributes=True)
