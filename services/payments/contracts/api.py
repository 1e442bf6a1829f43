"""HTTP for contracts: add a version of a payer's fee schedule, list the versions, read one
with its rates, and find the one in effect on a date of service."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from services.payments.contracts import usecases
from services.payments.contracts.domain import InvalidFeeSchedule, parse_fee_schedule
from services.payments.contracts.schemas import FeeScheduleOut, FeeScheduleVersionOut
from services.payments.remittances.schemas import PayerId
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, PageQuery, page_query
from shared.problems import FieldError, Problem, ProblemError

router = APIRouter(tags=["contracts"])
LoadFeeSchedule = Annotated[AuditTrail, audited("fee_schedule", "update", require_scopes("payments:admin"))]
ReadFeeSchedule = Annotated[AuditTrail, audited("fee_schedule", "read", require_scopes("payments:read"))]
VersionPage = Annotated[PageQuery, Depends(page_query(50, 500))]
VersionNumber = Annotated[int, Path(ge=1, le=1_000_000)]
EffectiveDate = Annotated[
    date | None, Query(description="Applies to services on or after this date (default today).")
]
UPLOAD_BODY = {
    "requestBody": {
        "content": {
            "text/csv": {"schema": {"type": "string"}, "example": "code,modifier,allowed\n99213,,92.50\n"},
            "application/json": {"schema": {"type": "object"}},
        }
    }
}
UPLOAD_DOC = (
    'Body: CSV with a `code,modifier,allowed` header, or JSON `{"entries": [{"code", "modifier"?, '
    '"allowed"}]}`. Adds the payer\'s next version, effective from `effective_date`; earlier versions are '
    "kept and still apply to services before it. A posted line is compared with the version in effect on "
    "its date of service (the latest effective date on or before it; among equal dates, the latest upload). "
    "Publishes `fee_schedule.updated` (eligibility estimates with it)."
)


def _not_found(what: str) -> ProblemError:
    return ProblemError(404, "not-found", f"No {what}")


async def _upload(
    payer_id: str, request: Request, session: SessionDep, trail: AuditTrail, effective: date | None
) -> FeeScheduleOut:
    try:
        entries = parse_fee_schedule(await request.body(), request.headers.get("content-type", ""))
    except InvalidFeeSchedule as exc:
        raise ProblemError(
            422,
            "invalid-fee-schedule",
            "The fee schedule cannot be loaded",
            exc.message,
            errors=[FieldError(field=exc.field, rule=exc.rule, message=exc.message)],
        ) from None
    loaded = await usecases.load_fee_schedule(
        session, payer_id, entries, effective=effective or date.today(), actor=trail.actor
    )
    trail.resource_id = str(loaded.fee_schedule_id)
    return loaded


@router.put(
    "/v1/fee-schedules/{payer_id}",
    response_model=FeeScheduleOut,
    summary="Upload a payer's fee schedule as a new version (CSV or JSON)",
    description=UPLOAD_DOC,
    responses={422: {"model": Problem}},
    openapi_extra=UPLOAD_BODY,
)
async def put_fee_schedule(
    payer_id: PayerId,
    request: Request,
    session: SessionDep,
    trail: LoadFeeSchedule,
    effective_date: EffectiveDate = None,
) -> FeeScheduleOut:
    return await _upload(payer_id, request, session, trail, effective_date)


@router.post(
    "/v1/fee-schedules/{payer_id}",
    status_code=201,
    response_model=FeeScheduleOut,
    summary="Add a version of a payer's fee schedule (CSV or JSON); 201 with its Location",
    description=UPLOAD_DOC,
    responses={422: {"model": Problem}},
    openapi_extra=UPLOAD_BODY,
)
async def post_fee_schedule(
    payer_id: PayerId,
    request: Request,
    session: SessionDep,
    trail: LoadFeeSchedule,
    effective_date: EffectiveDate = None,
) -> JSONResponse:
    loaded = await _upload(payer_id, request, session, trail, effective_date)
    location = f"/v1/fee-schedules/{payer_id}/versions/{loaded.version}"
    return JSONResponse(loaded.model_dump(mode="json"), status_code=201, headers={"Location": location})


@router.get(
    "/v1/fee-schedules/{payer_id}",
    response_model=CursorPage[FeeScheduleOut],
    summary="A payer's fee schedule versions, newest upload first",
)
async def list_fee_schedule_versions(
    payer_id: PayerId, session: SessionDep, trail: ReadFeeSchedule, page: VersionPage
) -> CursorPage[FeeScheduleOut]:
    trail.resource_id = payer_id
    items, cursor = await usecases.list_versions(session, payer_id, page)
    return CursorPage[FeeScheduleOut](items=items, next_cursor=cursor)


@router.get(
    "/v1/fee-schedules/{payer_id}/versions/{version}",
    response_model=FeeScheduleVersionOut,
    summary="One version of a payer's fee schedule, with its rates",
    responses={404: {"model": Problem}},
)
async def get_fee_schedule_version(
    payer_id: PayerId, version: VersionNumber, session: SessionDep, trail: ReadFeeSchedule
) -> FeeScheduleVersionOut:
    trail.resource_id = f"{payer_id}/{version}"
    found = await usecases.get_version(session, payer_id, version)
    if found is None:
        raise _not_found("such fee schedule version")
    return found


@router.get(
    "/v1/fee-schedules/{payer_id}/in-effect",
    response_model=FeeScheduleVersionOut,
    summary="The version a line given on a date of service is compared with",
    description="The latest effective date on or before `date_of_service`; among equal effective dates, "
    "the latest upload. 404 when no version was in effect yet.",
    responses={404: {"model": Problem}},
)
async def get_fee_schedule_in_effect(
    payer_id: PayerId,
    session: SessionDep,
    trail: ReadFeeSchedule,
    date_of_service: Annotated[date, Query(description="The date the service was given.")],
) -> FeeScheduleVersionOut:
    trail.resource_id = payer_id
    found = await usecases.version_in_effect(session, payer_id, date_of_service)
    if found is None:
        raise _not_found("fee schedule version in effect on that date")
    return found
