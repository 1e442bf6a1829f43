"""HTTP for the assistance policy and screenings: load a guideline year, set the tiers, screen."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse

from services.frontoffice.assistance import usecases
from services.frontoffice.assistance.schemas import (
    GuidelinesIn,
    GuidelinesOut,
    PolicyIn,
    PolicyOut,
    ScreeningIn,
    ScreeningOut,
)
from services.frontoffice.assistance.tables import Screening
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, audited_create
from shared.paging import CursorPage, Dates, Page
from shared.problems import Problem, ProblemError

router = APIRouter(prefix="/v1/assistance", tags=["financial assistance"])
# The policy (guidelines and tiers) is a manager's: the same scope as the second approval.
LoadGuidelines = Annotated[
    AuditTrail, audited("poverty_guidelines", "create", require_scopes("assistance:approve"))
]
ListGuidelines = Annotated[
    AuditTrail, audited("poverty_guidelines", "list", require_scopes("assistance:read"))
]
SetPolicy = Annotated[
    AuditTrail, audited("assistance_policy", "create", require_scopes("assistance:approve"))
]
ReadPolicy = Annotated[AuditTrail, audited("assistance_policy", "read", require_scopes("assistance:read"))]
# Income is sensitive: every screening written or read is audited with its patient.
Screen = Annotated[AuditTrail, audited("screening", "create", require_scopes("assistance:write"))]
ReadScreening = Annotated[AuditTrail, audited("screening", "read", require_scopes("assistance:read"))]


async def get_current_screening(
    screening_id: uuid.UUID, session: SessionDep, trail: ReadScreening
) -> Screening:
    """The screening named in the path, or 404; the audit entry names it and its patient."""
    trail.resource_id = str(screening_id)
    row = await usecases.get_screening(session, screening_id)
    if row is None:
        raise ProblemError(404, "not-found", "Screening not found")
    trail.patient_id = row.patient_id
    return row


CurrentScreening = Annotated[Screening, Depends(get_current_screening)]


@router.post(
    "/guidelines",
    response_model=GuidelinesOut,
    status_code=status.HTTP_201_CREATED,
    summary="Load a year of the Federal Poverty Guidelines (`assistance:approve`)",
    description="The body is the JSON file format of `services/frontoffice/data/fpg-<year>.json`. Each "
    "year is kept as its own version; screenings use the year in force (latest `effective_date` on or "
    "before the screening date). Loading a year again with the same figures answers **200**; with other "
    "figures **409** (a loaded year is never edited).",
    responses={200: {"model": GuidelinesOut}, 409: {"model": Problem}, 422: {"model": Problem}},
)
async def load_guidelines(body: GuidelinesIn, session: SessionDep, trail: LoadGuidelines) -> JSONResponse:
    async with session.begin():
        row, created = await usecases.load_guidelines(session, body, trail.actor)
    trail.resource_id = str(row.id)
    out = GuidelinesOut.model_validate(row, from_attributes=True).model_dump(mode="json")
    return JSONResponse(out, status_code=201 if created else 200)


@router.get(
    "/guidelines",
    response_model=CursorPage[GuidelinesOut],
    summary="The guideline years loaded",
    description="Newest load first; `date_from`/`date_to` filter on when a year was loaded "
    "(`loaded_at`, UTC days). Paged with `cursor`/`limit`.",
)
async def list_guidelines(
    session: SessionDep, trail: ListGuidelines, page: Page, dates: Dates
) -> CursorPage[GuidelinesOut]:
    rows, cursor = await usecases.guidelines_page(session, dates, page)
    items = [GuidelinesOut.model_validate(r, from_attributes=True) for r in rows]
    return CursorPage[GuidelinesOut](items=items, next_cursor=cursor)


@router.put(
    "/policy",
    response_model=PolicyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Set a new version of the assistance tiers (`assistance:approve`)",
    description="Tiers in ascending order of `up_to_percent` (inclusive, % of the poverty guideline); "
    "only the last may be open (`null`). A percent beyond every bounded tier, with no open tier, gets "
    "no discount (tier `none`). Earlier versions stay in force for screenings dated before this one's "
    "`effective_date`. Setting again the tiers the latest version for that `effective_date` already has "
    "(a retry) adds no version and answers **200** with that version.",
    responses={200: {"model": PolicyOut}, 422: {"model": Problem}},
)
async def set_policy(body: PolicyIn, session: SessionDep, trail: SetPolicy) -> JSONResponse:
    async with session.begin():
        row, created = await usecases.set_policy(session, body, trail.actor)
    trail.resource_id = str(row.id)
    out = PolicyOut.model_validate(row, from_attributes=True).model_dump(mode="json")
    return JSONResponse(out, status_code=201 if created else 200)


@router.get(
    "/policy",
    response_model=PolicyOut,
    summary="The tiers in force on a date (today by default)",
    responses={404: {"model": Problem}},
)
async def get_policy(
    session: SessionDep,
    trail: ReadPolicy,
    as_of: Annotated[date | None, Query(description="The date to ask about; today when absent.")] = None,
) -> PolicyOut:
    row = await usecases.policy_in_force(session, as_of or date.today())
    if row is None:
        raise ProblemError(404, "not-found", "No policy is in force on that date")
    trail.resource_id = str(row.id)
    return PolicyOut.model_validate(row, from_attributes=True)


@router.post(
    "/screenings",
    response_model=ScreeningOut,
    status_code=status.HTTP_201_CREATED,
    summary="Screen a household: its percent of the poverty guideline, the tier and why (`assistance:write`)",
    description="Poverty percent = income / guideline * 100, two places, half up. The guideline year and "
    "the policy are those in force on `screening_date`; `why` names both and the tier's bounds. An "
    "optional `Idempotency-Key` makes a retry answer the first screening. **409** when no guideline "
    "year or no policy is in force on that date.",
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def create_screening(
    body: ScreeningIn, session: SessionDep, trail: Screen, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    trail.patient_id = body.patient_id

    async def write() -> ScreeningOut:
        row = await usecases.screen(session, body, trail.actor)
        return await usecases.screening_out(session, row)

    return await audited_create(
        session,
        trail,
        scope="screening",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
        location="/v1/assistance/screenings/{id}",
    )


@router.get(
    "/screenings/{screening_id}",
    response_model=ScreeningOut,
    summary="One screening with its explanation",
    responses={404: {"model": Problem}},
)
async def get_screening(screening: CurrentScreening, session: SessionDep) -> ScreeningOut:
    return await usecases.screening_out(session, screening)
