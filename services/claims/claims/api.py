"""Claims API: create, read, list, change, scrub, submit, 837P, corrections and voids."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import domain, usecases
from services.claims.claims.schemas import ClaimFilters, ClaimOut, ClaimPatch, ClaimRequest, ClaimSummary
from services.claims.claims.tables import Claim
from services.claims.scrubbing import usecases as scrubbing
from services.claims.scrubbing.domain import has_errors
from services.claims.scrubbing.schemas import Finding, ScrubResult
from services.claims.submission import usecases as submission
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, audited_create, idempotent_write
from shared.paging import CursorPage, Dates, Page
from shared.problems import Problem, ProblemError

router = APIRouter(prefix="/v1/claims", tags=["claims"])


def _current_claim(trail: Any, *, lock: bool) -> Any:
    """The load-or-404 dependency of routes audited by `trail`: the audit entry names the claim
    (also when it is missing) and its patient; `lock` takes the row for an update."""

    async def get_current_claim(claim_id: uuid.UUID, session: SessionDep, audit: AuditTrail = trail) -> Claim:
        audit.resource_id = str(claim_id)
        claim = await usecases.get_claim(session, claim_id, lock=lock)
        audit.patient_id = claim.patient_id
        return claim

    return Depends(get_current_claim)


_create = audited("claim", "create", require_scopes("claims:write"))
_list = audited("claim", "list", require_scopes("claims:read"))
_read = audited("claim", "read", require_scopes("claims:read"))
_read_837 = audited("claim_837", "read", require_scopes("claims:read"))
_update = audited("claim", "update", require_scopes("claims:write"))
_scrub = audited("claim", "scrub", require_scopes("claims:write"))
_submit = audited("claim", "submit", require_scopes("claims:write"))
_correct = audited("claim", "correct", require_scopes("claims:write"))
_void = audited("claim", "void", require_scopes("claims:write"))

CreateTrail = Annotated[AuditTrail, _create]
ListTrail = Annotated[AuditTrail, _list]
UpdateTrail = Annotated[AuditTrail, _update]
ScrubTrail = Annotated[AuditTrail, _scrub]
SubmitTrail = Annotated[AuditTrail, _submit]
CorrectTrail = Annotated[AuditTrail, _correct]
VoidTrail = Annotated[AuditTrail, _void]
ClaimToRead = Annotated[Claim, _current_claim(_read, lock=False)]
ClaimFor837 = Annotated[Claim, _current_claim(_read_837, lock=False)]
ClaimToUpdate = Annotated[Claim, _current_claim(_update, lock=True)]
ClaimToScrub = Annotated[Claim, _current_claim(_scrub, lock=True)]
ClaimToSubmit = Annotated[Claim, _current_claim(_submit, lock=True)]
# Routes taking a locked claim run in the transaction its SELECT ... FOR UPDATE began, and commit it.
# Creating POSTs (a claim, a correction, a void) honour an optional Idempotency-Key: the key is
# claimed in the transaction that creates, so corrections and voids load their claim inside it.


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    summary="Create a claim (draft)",
    description="Validated strictly: unknown payer, NPI check digit, diagnosis pointers, counts and signs "
    "give a 422 naming each field, and nothing is stored. Without `payer_id` and `subscriber` (or "
    "`patient`), they come from the registry's copy: the coverage in force on the date of service; what "
    "the request sends wins. An optional `Idempotency-Key` makes a retry answer the first claim instead "
    "of creating a second one.",
)
async def create_claim(
    body: ClaimRequest, session: SessionDep, trail: CreateTrail, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    trail.patient_id = body.patient_id

    async def write() -> ClaimOut:
        # Completed from the registry copy inside the write's transaction (a refusal stores nothing).
        data = await usecases.from_request(session, body)
        domain.reject_invalid(data)
        return await usecases.describe(session, await usecases.create(session, data, trail.actor))

    return await audited_create(
        session,
        trail,
        scope="claim",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
        location="/v1/claims/{id}",
    )


@router.get(
    "/{claim_id}",
    response_model=ClaimOut,
    summary="A claim with its full status history",
    responses={404: {"model": Problem}},
)
async def get_claim(claim: ClaimToRead, session: SessionDep) -> ClaimOut:
    return await usecases.describe(session, claim)


@router.get(
    "",
    response_model=CursorPage[ClaimSummary],
    summary="List claims, newest first, with filters and a cursor",
)
async def list_claims(
    session: SessionDep,
    trail: ListTrail,
    filters: Annotated[ClaimFilters, Depends()],
    dates: Dates,
    page: Page,
) -> CursorPage[ClaimSummary]:
    # date_from/date_to bound the date of service.
    trail.patient_id = filters.patient_id
    listed = await usecases.list_claims(session, filters, dates, page)
    trail.saw(item.patient_id for item in listed.items)  # the audit names every patient shown
    return listed


@router.patch(
    "/{claim_id}",
    response_model=ClaimOut,
    summary="Change a draft, ready or rejected claim",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def patch_claim(
    claim: ClaimToUpdate, body: ClaimPatch, session: SessionDep, trail: UpdateTrail
) -> ClaimOut:
    await usecases.update(session, claim, body, trail.actor)
    await session.commit()
    return await usecases.describe(session, claim)


@router.post("/{claim_id}/scrub", response_model=ScrubResult, summary="Run the scrubber's edits")
async def scrub_claim(claim: ClaimToScrub, session: SessionDep, trail: ScrubTrail) -> ScrubResult:
    findings = await scrubbing.scrub_claim(session, claim, trail.actor)
    await session.commit()
    return ScrubResult(
        claim_id=claim.id,
        status=claim.status,
        clean=not has_errors(findings),
        findings=[Finding(**f.as_dict()) for f in findings],  # type: ignore[arg-type]
    )


@router.post(
    "/{claim_id}/submit",
    response_model=ClaimOut,
    summary="Submit as an 837P (refused with 409 listing the scrubber's errors)",
    responses={409: {"model": Problem, "description": "Scrubber errors, or the claim was already sent."}},
)
async def submit_claim(claim: ClaimToSubmit, session: SessionDep, trail: SubmitTrail) -> ClaimOut:
    try:
        await submission.submit_claim(session, claim, trail.actor)
    except ProblemError:
        await session.commit()  # keep the scrub result (and status) while refusing
        raise
    await session.commit()
    return await usecases.describe(session, claim)


@router.get(
    "/{claim_id}/837",
    summary="The 837P interchange last sent for this claim (or a preview of it)",
    response_class=Response,
    responses={200: {"content": {"application/edi-x12": {}}}, 404: {"model": Problem}},
)
async def get_837(
    claim: ClaimFor837,
    preview: Annotated[
        bool, Query(description="Render the 837P from the claim as it is now, without sending it.")
    ] = False,
) -> Response:
    if preview:
        return Response(submission.preview(claim), media_type="application/edi-x12")
    if not claim.x12_837:
        raise ProblemError(404, "not-submitted", "No 837P yet", "The claim has not been submitted.")
    return Response(claim.x12_837, media_type="application/edi-x12")


async def _follow_on(
    session: AsyncSession,
    trail: AuditTrail,
    claim_id: uuid.UUID,
    frequency: Literal["7", "8"],
    changes: dict[str, Any],
    key: str | None,
) -> JSONResponse:
    """A correction or void, once per Idempotency-Key when one is given (the claim is loaded and
    locked inside the key's transaction); the audit entry names the original claim."""
    trail.resource_id = str(claim_id)

    async def write() -> ClaimOut:
        claim = await usecases.get_claim(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        return await usecases.describe(
            session, await submission.follow_on(session, claim, frequency, changes, trail.actor)
        )

    outcome = await idempotent_write(
        session,
        scope=f"claim-{'correction' if frequency == '7' else 'void'}:{claim_id}",
        actor=trail.actor,
        key=key,
        request=changes,
        write=write,
        required=False,
    )
    trail.patient_id = outcome.body["patient_id"]
    return outcome.response(headers={"Location": f"/v1/claims/{outcome.body['id']}"})


@router.post(
    "/{claim_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    summary="Send a corrected claim (frequency 7) carrying the original's payer control number",
    description="One per claim (a second is a 409 naming the first). An optional `Idempotency-Key` makes "
    "a retry answer the first replacement.",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def correct_claim(
    claim_id: uuid.UUID,
    body: ClaimPatch,
    session: SessionDep,
    trail: CorrectTrail,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return await _follow_on(session, trail, claim_id, "7", changes, idempotency_key)


@router.post(
    "/{claim_id}/void",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    summary="Void a claim the payer has (frequency 8)",
    description="One per claim (a second is a 409 naming the first). The payer's answer closes the void "
    "and leaves the original `voided`. An optional `Idempotency-Key` makes a retry answer the first void.",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def void_claim(
    claim_id: uuid.UUID, session: SessionDep, trail: VoidTrail, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    return await _follow_on(session, trail, claim_id, "8", {}, idempotency_key)
