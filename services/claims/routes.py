"""Claims API: create, read, list, change, scrub, submit, 837P, corrections and voids."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims import lifecycle, scrubber
from services.claims.models import Claim, Denial, StatusChange
from services.claims.schemas import ClaimData, ClaimPatch, strict_errors
from services.claims.settings import get_claims_settings
from services.claims.x12_837 import generate
from shared import cursor as cursor_of
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import Problem, ProblemError, invalid

router = APIRouter(prefix="/v1/claims", tags=["claims"])

Status = Literal[
    "draft", "ready", "submitted", "accepted", "rejected", "paid", "partial", "denied", "appealed", "closed"
]


class HistoryEntry(BaseModel):
    from_status: str | None
    to_status: str
    actor: str = Field(description="The user (token subject) or the event that changed it.")
    reason: str | None
    changed_at: datetime


class Finding(BaseModel):
    edit: str
    severity: Literal["error", "warning"]
    field: str
    message: str


class ScrubResult(BaseModel):
    claim_id: uuid.UUID
    status: str
    clean: bool
    findings: list[Finding]


class ClaimSummary(BaseModel):
    id: uuid.UUID
    patient_control_number: str
    status: str
    patient_id: str
    payer_id: str
    coverage_order: str
    frequency_code: str
    total_charge: Decimal
    date_of_service: date
    payer_claim_control_number: str | None
    paid_amount: Decimal | None
    patient_responsibility: Decimal | None
    encounter_id: str | None
    original_claim_id: uuid.UUID | None
    primary_claim_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


class ClaimOut(ClaimSummary):
    data: ClaimData
    scrub: dict[str, Any] | None
    adjudication: dict[str, Any] | None
    history: list[HistoryEntry]


class ClaimPage(BaseModel):
    items: list[ClaimSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


def summary(claim: Claim) -> ClaimSummary:
    return ClaimSummary.model_validate(claim, from_attributes=True)


async def claim_out(session: AsyncSession, claim: Claim) -> ClaimOut:
    history = (
        await session.exec(
            select(StatusChange).where(StatusChange.claim_id == claim.id).order_by(col(StatusChange.id))
        )
    ).all()
    return ClaimOut(
        **summary(claim).model_dump(),
        data=lifecycle.data_of(claim),
        scrub=claim.scrub,
        adjudication=claim.adjudication,
        history=[HistoryEntry.model_validate(h, from_attributes=True) for h in history],
    )


async def load(session: AsyncSession, claim_id: uuid.UUID, *, lock: bool = False) -> Claim:
    claim = await session.get(Claim, claim_id, with_for_update=lock)
    if claim is None:
        raise ProblemError(404, "not-found", "Claim not found", "No claim has this id.")
    return claim


def _reject_invalid(data: ClaimData) -> None:
    """422 naming each field that breaks a rule of strict_errors()."""
    if errors := strict_errors(data):
        raise invalid(*errors, detail=f"{len(errors)} field(s) broke a rule; see `errors`.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    summary="Create a claim (draft)",
    description="Validated strictly: unknown payer, NPI check digit, diagnosis pointers, counts and signs "
    "give a 422 naming each field, and nothing is stored.",
)
async def create_claim(
    body: ClaimData,
    session: SessionDep,
    response: Response,
    trail: Annotated[AuditTrail, audited("claim", "create", require_scopes("claims:write"))],
) -> ClaimOut:
    trail.patient_id = body.patient_id
    _reject_invalid(body)
    async with session.begin():
        claim = await lifecycle.create(session, body, trail.actor)
    trail.resource_id = str(claim.id)
    response.headers["Location"] = f"/v1/claims/{claim.id}"
    return await claim_out(session, claim)


@router.get(
    "/{claim_id}",
    response_model=ClaimOut,
    summary="A claim with its full status history",
    responses={404: {"model": Problem}},
)
async def get_claim(
    claim_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim", "read", require_scopes("claims:read"))],
) -> ClaimOut:
    trail.resource_id = str(claim_id)
    claim = await load(session, claim_id)
    trail.patient_id = claim.patient_id
    return await claim_out(session, claim)


def _parse_cursor(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        return cursor_of.decode(value)
    except ValueError:
        raise invalid(("query.cursor", "cursor", "Use next_cursor from a previous page.")) from None


@router.get("", response_model=ClaimPage, summary="List claims, newest first, with filters and a cursor")
async def list_claims(
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim", "list", require_scopes("claims:read"))],
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    patient_id: Annotated[str | None, Query(max_length=64)] = None,
    encounter_id: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[date | None, Query(description="Date of service on or after.")] = None,
    date_to: Annotated[date | None, Query(description="Date of service on or before.")] = None,
    min_age_days: Annotated[
        int | None, Query(ge=0, description="Created at least this many days ago.")
    ] = None,
    max_age_days: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ClaimPage:
    trail.patient_id = patient_id
    stmt = select(Claim)
    if status_:
        stmt = stmt.where(col(Claim.status).in_(status_))
    if payer_id:
        stmt = stmt.where(Claim.payer_id == payer_id)
    if patient_id:
        stmt = stmt.where(Claim.patient_id == patient_id)
    if encounter_id:
        stmt = stmt.where(Claim.encounter_id == encounter_id)
    if date_from:
        stmt = stmt.where(col(Claim.date_of_service) >= date_from)
    if date_to:
        stmt = stmt.where(col(Claim.date_of_service) <= date_to)
    now = lifecycle.now()
    if min_age_days is not None:
        stmt = stmt.where(col(Claim.created_at) <= now - timedelta(days=min_age_days))
    if max_age_days is not None:
        stmt = stmt.where(col(Claim.created_at) >= now - timedelta(days=max_age_days))
    if cursor:
        created, ident = _parse_cursor(cursor)
        stmt = stmt.where(
            or_(
                col(Claim.created_at) < created, and_(col(Claim.created_at) == created, col(Claim.id) < ident)
            )
        )
    stmt = stmt.order_by(col(Claim.created_at).desc(), col(Claim.id).desc()).limit(limit + 1)
    rows = list((await session.exec(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return ClaimPage(
        items=[summary(c) for c in rows],
        next_cursor=cursor_of.encode(rows[-1].created_at, rows[-1].id) if more else None,
    )


@router.patch(
    "/{claim_id}",
    response_model=ClaimOut,
    summary="Change a draft, ready or rejected claim",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def patch_claim(
    claim_id: uuid.UUID,
    body: ClaimPatch,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim", "update", require_scopes("claims:write"))],
) -> ClaimOut:
    trail.resource_id = str(claim_id)
    async with session.begin():
        claim = await load(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        if claim.status not in lifecycle.EDITABLE:
            raise ProblemError(
                409,
                "not-editable",
                "The claim can no longer be changed",
                f"A {claim.status} claim is with the payer; send a correction (POST .../corrections).",
            )
        changes = body.model_dump(mode="json", exclude_unset=True)
        merged = ClaimData.model_validate({**claim.data, **changes})
        _reject_invalid(merged)
        lifecycle.replace_data(claim, merged)
        lifecycle.set_status(session, claim, "draft", trail.actor, "edited: " + ", ".join(sorted(changes)))
    return await claim_out(session, claim)


@router.post("/{claim_id}/scrub", response_model=ScrubResult, summary="Run the scrubber's edits")
async def scrub_claim(
    claim_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim", "scrub", require_scopes("claims:write"))],
) -> ScrubResult:
    trail.resource_id = str(claim_id)
    async with session.begin():
        claim = await load(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        findings = await lifecycle.run_scrub(session, claim, trail.actor)
    return ScrubResult(
        claim_id=claim.id,
        status=claim.status,
        clean=not scrubber.has_errors(findings),
        findings=[Finding(**f.as_dict()) for f in findings],  # type: ignore[arg-type]
    )


@router.post(
    "/{claim_id}/submit",
    response_model=ClaimOut,
    summary="Submit as an 837P (refused with 409 listing the scrubber's errors)",
    responses={409: {"model": Problem, "description": "Scrubber errors, or the claim was already sent."}},
)
async def submit_claim(
    claim_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim", "submit", require_scopes("claims:write"))],
) -> ClaimOut:
    trail.resource_id = str(claim_id)
    failure: ProblemError | None = None
    async with session.begin():
        claim = await load(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        try:
            await lifecycle.submit(session, claim, trail.actor)
        except ProblemError as exc:
            failure = exc  # keep the scrub result (and status) while refusing
    if failure is not None:
        raise failure
    return await claim_out(session, claim)


@router.get(
    "/{claim_id}/837",
    summary="The 837P interchange last sent for this claim (or a preview of it)",
    response_class=Response,
    responses={200: {"content": {"application/edi-x12": {}}}, 404: {"model": Problem}},
)
async def get_837(
    claim_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim_837", "read", require_scopes("claims:read"))],
    preview: Annotated[
        bool, Query(description="Render the 837P from the claim as it is now, without sending it.")
    ] = False,
) -> Response:
    trail.resource_id = str(claim_id)
    claim = await load(session, claim_id)
    trail.patient_id = claim.patient_id
    if preview:
        text = generate(
            lifecycle.data_of(claim),
            claim.patient_control_number,
            control_number=0,
            settings=get_claims_settings(),
        )
        return Response(text, media_type="application/edi-x12")
    if not claim.x12_837:
        raise ProblemError(404, "not-submitted", "No 837P yet", "The claim has not been submitted.")
    return Response(claim.x12_837, media_type="application/edi-x12")


async def _follow_on(
    session: AsyncSession, claim: Claim, frequency: Literal["7", "8"], changes: dict[str, Any], actor: str
) -> Claim:
    """A replacement (7) or void (8) of a claim the payer has: a new claim pointing at the
    original's payer control number, submitted at once; the original is closed."""
    if not claim.payer_claim_control_number:
        raise ProblemError(
            409,
            "no-payer-control-number",
            "The payer has not numbered this claim",
            "Only a claim the payer accepted or adjudicated can be replaced or voided; "
            "a rejected claim is fixed with PATCH and submitted again.",
        )
    if claim.status in lifecycle.EDITABLE or claim.frequency_code == "8":
        raise ProblemError(409, "not-correctable", "This claim cannot be corrected", f"It is {claim.status}.")
    merged = ClaimData.model_validate(
        {
            **claim.data,
            **changes,
            "frequency_code": frequency,
            "original_payer_claim_control_number": claim.payer_claim_control_number,
        }
    )
    _reject_invalid(merged)
    new = await lifecycle.create(session, merged, actor, original_claim_id=claim.id)
    await lifecycle.submit(session, new, actor)
    for denial in (
        await session.exec(select(Denial).where(Denial.claim_id == claim.id, Denial.status != "resolved"))
    ).all():
        denial.status, denial.resolved_at = "resolved", lifecycle.now()
        denial.resolution = f"{'corrected' if frequency == '7' else 'voided'}: {new.patient_control_number}"
        session.add(denial)
    lifecycle.set_status(
        session,
        claim,
        "closed",
        actor,
        f"{'replaced' if frequency == '7' else 'voided'} by {new.patient_control_number}",
    )
    return new


@router.post(
    "/{claim_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    summary="Send a corrected claim (frequency 7) carrying the original's payer control number",
    responses={409: {"model": Problem}},
)
async def correct_claim(
    claim_id: uuid.UUID,
    body: ClaimPatch,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim", "correct", require_scopes("claims:write"))],
) -> ClaimOut:
    trail.resource_id = str(claim_id)
    async with session.begin():
        claim = await load(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        new = await _follow_on(
            session, claim, "7", body.model_dump(mode="json", exclude_unset=True), trail.actor
        )
    return await claim_out(session, new)


@router.post(
    "/{claim_id}/void",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    summary="Void a claim the payer has (frequency 8)",
    responses={409: {"model": Problem}},
)
async def void_claim(
    claim_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("claim", "void", require_scopes("claims:write"))],
) -> ClaimOut:
    trail.resource_id = str(claim_id)
    async with session.begin():
        claim = await load(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        new = await _follow_on(session, claim, "8", {}, trail.actor)
    return await claim_out(session, new)
