"""Authorization routes: record one, list a patient's, read one, count visits used."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import JSONResponse

from services.eligibility.authorizations import usecases
from services.eligibility.authorizations.schemas import AuthorizationIn, AuthorizationOut, VisitsIn
from services.eligibility.payers.usecases import PayerClient, request_client, require_known
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, Page
from shared.problems import ProblemError

router = APIRouter(prefix="/v1/authorizations", tags=["authorizations"])

CreateAuthorization = Annotated[
    AuditTrail, audited("authorization", "create", require_scopes("eligibility:write"))
]
ReadAuthorization = Annotated[
    AuditTrail, audited("authorization", "read", require_scopes("eligibility:read"))
]
UpdateAuthorization = Annotated[
    AuditTrail, audited("authorization", "update", require_scopes("eligibility:write"))
]
AuthorizationId = Annotated[uuid.UUID, Path()]
Payers = Annotated[PayerClient, Depends(request_client)]


async def get_current_authorization(
    authorization_id: AuthorizationId, session: SessionDep, trail: ReadAuthorization
) -> AuthorizationOut:
    """The authorization in the path; 404 if none."""
    trail.resource_id = str(authorization_id)
    row = await usecases.load(session, authorization_id)
    if row is None:
        raise ProblemError(404, "not-found", "Authorization not found", "No authorization with this id.")
    trail.patient_id = row["patient_id"]
    return usecases.authorization_out(row)


CurrentAuthorization = Annotated[AuthorizationOut, Depends(get_current_authorization)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AuthorizationOut, summary="Record one")
async def create_authorization(
    body: AuthorizationIn, session: SessionDep, trail: CreateAuthorization, payers: Payers
) -> JSONResponse:
    trail.patient_id = body.patient_id
    require_known(payers, body.payer_id, "body.payer_id")
    out = await usecases.record(session, body, trail.actor)
    trail.resource_id = str(out.id)
    return JSONResponse(
        out.model_dump(mode="json"), status_code=201, headers={"Location": f"/v1/authorizations/{out.id}"}
    )


@router.get(
    "",
    response_model=CursorPage[AuthorizationOut],
    summary="A patient's authorizations",
    description="Newest first, a page at a time. `active_on` keeps those valid on that day; "
    "`date_from`/`date_to` those valid at some time in that range.",
)
async def list_authorizations(
    session: SessionDep,
    trail: ReadAuthorization,
    patient_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")],
    page: Page,
    dates: Dates,
    active_on: date | None = None,
) -> CursorPage[AuthorizationOut]:
    trail.patient_id = patient_id
    return await usecases.page_for_patient(session, patient_id, active_on, dates, page)


@router.get("/{authorization_id}", response_model=AuthorizationOut, summary="One authorization")
async def get_authorization(authorization: CurrentAuthorization) -> AuthorizationOut:
    return authorization


@router.post("/{authorization_id}/visits", response_model=AuthorizationOut, summary="Record visits used")
async def use_visits(
    authorization_id: AuthorizationId, body: VisitsIn, session: SessionDep, trail: UpdateAuthorization
) -> AuthorizationOut:
    trail.resource_id = str(authorization_id)
    out = await usecases.use_visits(session, authorization_id, body.visits)
    trail.patient_id = out.patient_id
    return out
