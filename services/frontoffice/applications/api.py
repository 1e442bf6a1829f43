"""HTTP for assistance applications: open one, record documents, decide, approve."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from services.frontoffice.applications import usecases
from services.frontoffice.applications.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApprovalIn,
    DecisionIn,
    DocumentIn,
    DocumentOut,
)
from services.frontoffice.applications.tables import Application
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, audited_create, idempotent_write
from shared.problems import Problem

router = APIRouter(prefix="/v1/assistance/applications", tags=["financial assistance"])
OpenApplication = Annotated[
    AuditTrail, audited("assistance_application", "create", require_scopes("assistance:write"))
]
ReadApplication = Annotated[
    AuditTrail, audited("assistance_application", "read", require_scopes("assistance:read"))
]
AddDocument = Annotated[
    AuditTrail, audited("assistance_document", "create", require_scopes("assistance:write"))
]
Decide = Annotated[
    AuditTrail, audited("assistance_application", "decide", require_scopes("assistance:write"))
]
Approve = Annotated[
    AuditTrail, audited("assistance_application", "approve", require_scopes("assistance:approve"))
]


async def _load(
    session: SessionDep, application_id: uuid.UUID, trail: AuditTrail, *, lock: bool
) -> Application:
    """The application or a 404; the audit entry names it (also when missing) and its patient."""
    trail.resource_id = str(application_id)
    app = await usecases.get(session, application_id, lock=lock)
    if app is None:
        raise usecases.not_found()
    trail.patient_id = app.patient_id
    return app


def _loader(trail_type: object, *, lock: bool) -> object:
    """A load-or-404 dependency for one audited action; write actions lock the row, so two
    people deciding or approving at once are served one after the other."""

    async def load(application_id: uuid.UUID, session: SessionDep, trail: trail_type) -> Application:  # type: ignore[valid-type]
        return await _load(session, application_id, trail, lock=lock)

    # The annotations are strings (postponed evaluation); FastAPI must see the audited alias.
    load.__annotations__ = {**load.__annotations__, "trail": trail_type}
    return load


ApplicationToRead = Annotated[Application, Depends(_loader(ReadApplication, lock=False))]
ApplicationToDecide = Annotated[Application, Depends(_loader(Decide, lock=True))]
ApplicationToApprove = Annotated[Application, Depends(_loader(Approve, lock=True))]
ERRORS = {403: {"model": Problem}, 404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}}


@router.post(
    "",
    response_model=ApplicationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open an application from a screening; holds the account from collections",
    description="Needs `assistance:write` and an `Idempotency-Key`. Publishes `account_hold.placed` (reason "
    "`financial_assistance`, collections only: statements continue) in the same transaction.",
    responses={400: {"model": Problem}, 422: {"model": Problem}},
)
async def open_application(
    body: ApplicationIn,
    session: SessionDep,
    trail: OpenApplication,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.patient_id = body.patient_id

    async def write() -> ApplicationOut:
        app = await usecases.open_application(session, body, trail.actor)
        return await usecases.application_out(session, app)

    return await audited_create(
        session,
        trail,
        scope="assistance_application",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        location="/v1/assistance/applications/{id}",
    )


@router.get("/{application_id}", response_model=ApplicationOut, summary="One application", responses=ERRORS)
async def get_application(app: ApplicationToRead, session: SessionDep) -> ApplicationOut:
    return await usecases.application_out(session, app)


@router.post(
    "/{application_id}/documents",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a document received (pay stub, tax return, benefits letter, attestation)",
    description="An optional `Idempotency-Key` (yours alone) makes a retry answer the first record "
    "instead of recording the document twice.",
    responses=ERRORS,
)
async def add_document(
    application_id: uuid.UUID,
    body: DocumentIn,
    session: SessionDep,
    trail: AddDocument,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.resource_id = str(application_id)

    async def write() -> DocumentOut:  # loaded and locked inside the key's transaction
        app = await _load(session, application_id, trail, lock=True)
        row = await usecases.add_document(session, app, body, trail.actor)
        return DocumentOut.model_validate(row, from_attributes=True)

    outcome = await idempotent_write(
        session,
        scope=f"assistance-document:{application_id}",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
    )
    if outcome.replayed:  # the audit entry still names the application's patient
        await _load(session, application_id, trail, lock=False)
    return outcome.response()


@router.post(
    "/{application_id}/decision",
    response_model=ApplicationOut,
    summary="Decide: approve (with the tier) or deny (`assistance:write`); waits for a second person",
    description="Approving needs at least one document received; the tier defaults to the screening's, "
    "another tier of the same policy needs a `note`. **409** unless the application is open.",
    responses=ERRORS,
)
async def decide(
    app: ApplicationToDecide, body: DecisionIn, session: SessionDep, trail: Decide
) -> ApplicationOut:
    await usecases.decide(session, app, body, trail.actor)
    await session.commit()
    return await usecases.application_out(session, app)


@router.post(
    "/{application_id}/approval",
    response_model=ApplicationOut,
    summary="The second person's approval (`assistance:approve`, never the decider)",
    description="`approve: true` makes the decision final: an approval publishes "
    "`financial_assistance.approved` (payments posts the discount) and either outcome publishes "
    "`account_hold.released`, in the same transaction. `approve: false` sends it back (open again). "
    "**403** rule `four_eyes` for the decider; **409** when there is no decision waiting.",
    responses=ERRORS,
)
async def approve(
    app: ApplicationToApprove, body: ApprovalIn, session: SessionDep, trail: Approve
) -> ApplicationOut:
    await usecases.approve(session, app, body, trail.actor)
    await session.commit()
    return await usecases.application_out(session, app)
