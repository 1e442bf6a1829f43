"""Coverage routes: a patient's coverages in order, add, change (member id, plan, group,
termination), reorder. Every change takes the patient's ETag as If-Match."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import JSONResponse

from services.frontoffice.coverages import usecases
from services.frontoffice.coverages.schemas import (
    CoverageChangeOut,
    CoverageIdPath,
    CoverageIn,
    CoverageList,
    CoveragePatch,
    CoverageReorder,
)
from services.frontoffice.patients.domain import etag, parse_if_match
from services.frontoffice.patients.schemas import PatientIdPath
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.problems import Problem

router = APIRouter(prefix="/v1/patients/{patient_id}/coverages", tags=["coverages"])

ReadCoverages = Annotated[AuditTrail, audited("coverage", "list", require_scopes("patients:read"))]
AddCoverage = Annotated[AuditTrail, audited("coverage", "create", require_scopes("patients:write"))]
ChangeCoverage = Annotated[AuditTrail, audited("coverage", "update", require_scopes("patients:write"))]
ReorderCoverages = Annotated[AuditTrail, audited("coverage", "reorder", require_scopes("patients:write"))]

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=20, description='The patient\'s ETag as last read (e.g. `"7"`).'),
]

CHANGE_ERRORS = {
    404: {"model": Problem, "description": "No such patient or coverage."},
    409: {"model": Problem, "description": "Two coverages of one order would be in force on one date."},
    412: {"model": Problem, "description": "Stale If-Match: read the patient again."},
    428: {"model": Problem, "description": "If-Match missing."},
}
CHANGE_NOTE = (
    " Publishes `coverage.updated` with the whole ordered list, the patient's next revision and "
    "the changes classified (added, member_id_corrected, terminated with `retroactive`, reordered, "
    "updated); the history keeps who, when, why and before/after."
)


def _audit(trail: AuditTrail, patient_id: str) -> None:
    trail.patient_id = trail.resource_id = patient_id


@router.get(
    "",
    response_model=CoverageList,
    summary="A patient's coverages in order",
    description="Primary, secondary, tertiary (within an order the latest first), in force or not: "
    "each has its effective and termination dates. `revision` is the patient's ETag.",
    responses={404: {"model": Problem, "description": "No such patient."}},
)
async def list_coverages(
    patient_id: PatientIdPath, session: SessionDep, trail: ReadCoverages, response: Response
) -> CoverageList:
    _audit(trail, patient_id)
    listed = await usecases.list_coverages(session, patient_id)
    response.headers["ETag"] = etag(listed.revision)
    return listed


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CoverageChangeOut,
    summary="Add a coverage",
    description="At most one coverage per order may be in force on any date (409 otherwise). "
    "`If-Match` is optional here. An optional `Idempotency-Key` (yours alone) makes a retry "
    "answer the first addition instead of adding the coverage twice." + CHANGE_NOTE,
    responses=CHANGE_ERRORS,
)
async def add_coverage(
    patient_id: PatientIdPath,
    body: CoverageIn,
    session: SessionDep,
    trail: AddCoverage,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    _audit(trail, patient_id)
    expected = parse_if_match(if_match, required=False)

    async def write() -> CoverageChangeOut:
        return await usecases.add_coverage(
            session, patient_id, body, actor=trail.actor, expected_revision=expected
        )

    outcome = await idempotent_write(
        session,
        scope="coverage",
        actor=trail.actor,
        key=idempotency_key,
        request={"patient_id": patient_id, "coverage": body.model_dump(mode="json")},
        write=write,
        required=False,
    )
    return outcome.response(headers={"ETag": etag(int(outcome.body["revision"]))})


@router.patch(
    "/{coverage_id}",
    response_model=CoverageChangeOut,
    summary="Change a coverage: member id, plan, group, dates, subscriber",
    description="Send only what changes, with a `reason` and optionally a `note`. A corrected "
    "member id is `member_id_corrected`; a termination date is `terminated` (retroactive when "
    "before today). The termination date may not precede the effective date (422)." + CHANGE_NOTE,
    responses=CHANGE_ERRORS,
)
async def change_coverage(
    patient_id: PatientIdPath,
    coverage_id: CoverageIdPath,
    body: CoveragePatch,
    session: SessionDep,
    trail: ChangeCoverage,
    response: Response,
    if_match: IfMatch = None,
) -> CoverageChangeOut:
    _audit(trail, patient_id)
    expected = parse_if_match(if_match)
    out = await usecases.change_coverage(
        session,
        patient_id,
        coverage_id,
        body.model_dump(exclude_unset=True, exclude={"reason", "note"}),
        reason=body.reason.value,
        note=body.note,
        actor=trail.actor,
        expected_revision=expected,
    )
    await session.commit()
    response.headers["ETag"] = etag(out.revision)
    return out


@router.post(
    "/order",
    response_model=CoverageChangeOut,
    summary="Reorder coverages (primary, secondary, tertiary)",
    description="Assign new orders to some of the patient's coverages at once, e.g. swap primary "
    "and secondary when a patient's coordination of benefits is corrected." + CHANGE_NOTE,
    responses=CHANGE_ERRORS,
)
async def reorder_coverages(
    patient_id: PatientIdPath,
    body: CoverageReorder,
    session: SessionDep,
    trail: ReorderCoverages,
    response: Response,
    if_match: IfMatch = None,
) -> CoverageChangeOut:
    _audit(trail, patient_id)
    expected = parse_if_match(if_match)
    out = await usecases.reorder(
        session,
        patient_id,
        body.assignments,
        reason=body.reason.value,
        note=body.note,
        actor=trail.actor,
        expected_revision=expected,
    )
    await session.commit()
    response.headers["ETag"] = etag(out.revision)
    return out
