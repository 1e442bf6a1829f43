"""Patient routes: register, read, change (with a reason and the revision read), search, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import RowMapping

from services.frontoffice.patients import domain, usecases
from services.frontoffice.patients.schemas import (
    HistoryEntry,
    PatientIdPath,
    PatientIn,
    PatientOut,
    PatientPatch,
    PatientSearch,
    PatientSummary,
)
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.paging import CursorPage, Dates, Page
from shared.problems import Problem

router = APIRouter(prefix="/v1/patients", tags=["patients"])

CreatePatient = Annotated[AuditTrail, audited("patient", "create", require_scopes("patients:write"))]
SearchPatients = Annotated[AuditTrail, audited("patient", "list", require_scopes("patients:read"))]
_read = audited("patient", "read", require_scopes("patients:read"))
_update = audited("patient", "update", require_scopes("patients:write"))
_history = audited("patient_history", "read", require_scopes("patients:read"))

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The patient\'s ETag as last read (e.g. `"7"`). Required: a stale one answers 412.',
        max_length=20,
    ),
]


def _current_patient(trail: object, *, lock: bool) -> object:
    """Load-or-404 under the route's audit entry, which names the patient (also when missing)."""

    async def get_current_patient(
        patient_id: PatientIdPath,
        session: SessionDep,
        audit: AuditTrail = trail,  # type: ignore[assignment]
    ) -> RowMapping:
        audit.resource_id = patient_id
        audit.patient_id = patient_id
        return await usecases.get_patient(session, patient_id, lock=lock)

    return Depends(get_current_patient)


PatientToRead = Annotated[RowMapping, _current_patient(_read, lock=False)]
PatientToUpdate = Annotated[RowMapping, _current_patient(_update, lock=True)]
PatientForHistory = Annotated[RowMapping, _current_patient(_history, lock=False)]

NOT_FOUND = {404: {"model": Problem, "description": "No patient with this id."}}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PatientOut,
    summary="Register a patient",
    description="Registers a patient under the id the practice's EHR uses. An `Idempotency-Key` "
    "(optional, scoped to you) makes a retry answer the first registration; a patient id on file "
    "already answers 409. Publishes `patient.updated` (revision 1, reason `registration`).",
    responses={409: {"model": Problem, "description": "The patient id is registered already."}},
)
async def register_patient(
    body: PatientIn, session: SessionDep, trail: CreatePatient, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    trail.patient_id = trail.resource_id = body.patient_id

    async def write() -> PatientOut:
        return await usecases.register(session, body, trail.actor)

    outcome = await idempotent_write(
        session,
        scope="patient",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
    )
    return outcome.response(
        headers={
            "Location": f"/v1/patients/{body.patient_id}",
            "ETag": domain.etag(int(outcome.body["revision"])),
        }
    )


@router.get(
    "/{patient_id}",
    response_model=PatientOut,
    summary="A patient as on file now",
    description="Demographics and guarantor. The `ETag` header is the revision to send as "
    "`If-Match` when changing the patient or their coverages.",
    responses=NOT_FOUND,
)
async def get_patient(patient: PatientToRead, response: Response) -> PatientOut:
    response.headers["ETag"] = domain.etag(patient["revision"])
    return usecases.describe(patient)


@router.patch(
    "/{patient_id}",
    response_model=PatientOut,
    summary="Change a patient's demographics or guarantor",
    description="Send only the fields that change, a `reason` (moved, name_change, correction, "
    "payer_271, other) and optionally a `note`; both are kept in the history with you and the "
    "time. `If-Match` must carry the ETag you read: if someone changed the patient since, the "
    "answer is 412 and nothing is changed. A change publishes `patient.updated` with the next "
    "revision; a PATCH that changes nothing takes no revision.",
    responses={
        **NOT_FOUND,
        412: {"model": Problem, "description": "Stale If-Match: read the patient again."},
        428: {"model": Problem, "description": "If-Match missing."},
    },
)
async def patch_patient(
    patient: PatientToUpdate,
    body: PatientPatch,
    session: SessionDep,
    trail: Annotated[AuditTrail, _update],
    response: Response,
    if_match: IfMatch = None,
) -> PatientOut:
    expected = domain.parse_if_match(if_match)
    out, _ = await usecases.change_patient(
        session,
        patient["patient_id"],
        body.changes(),
        reason=body.reason.value,
        note=body.note,
        actor=trail.actor,
        expected_revision=expected,
    )
    await session.commit()
    response.headers["ETag"] = domain.etag(out.revision)
    return out


@router.get(
    "",
    response_model=CursorPage[PatientSummary],
    summary="Search patients",
    description="By last name (prefix, any case), first name, birth date, phone or a member id; "
    "filters combine with AND. `date_from`/`date_to` filter on the registration time (the "
    "patient's `created_at`, UTC days). Newest registration first, paged with `cursor`/`limit`.",
)
async def search_patients(
    session: SessionDep,
    trail: SearchPatients,
    filters: Annotated[PatientSearch, Depends()],
    page: Page,
    dates: Dates,
) -> CursorPage[PatientSummary]:
    found = await usecases.search(session, filters, dates, page)
    trail.saw(item.patient_id for item in found.items)
    return found


@router.get(
    "/{patient_id}/history",
    response_model=CursorPage[HistoryEntry],
    summary="Every change to a patient and their coverages",
    description="Newest first: who, when, why (reason and note), which fields, before and after. "
    "`date_from`/`date_to` filter on the time of the change (`changed_at`, UTC days). "
    "Needs `patients:read`; every read is audited.",
    responses=NOT_FOUND,
)
async def patient_history(
    patient: PatientForHistory, session: SessionDep, page: Page, dates: Dates
) -> CursorPage[HistoryEntry]:
    return await usecases.history(session, patient["patient_id"], dates, page)
