"""Discrepancy routes: the open list staff work, one discrepancy, accept, reject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import RowMapping

from services.frontoffice.discrepancies import usecases
from services.frontoffice.discrepancies.schemas import (
    DiscrepancyAccept,
    DiscrepancyIdPath,
    DiscrepancyOut,
    DiscrepancyReject,
    Status,
)
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, Page
from shared.problems import Problem

router = APIRouter(prefix="/v1/discrepancies", tags=["discrepancies"])

ListDiscrepancies = Annotated[AuditTrail, audited("discrepancy", "list", require_scopes("patients:read"))]
_read = audited("discrepancy", "read", require_scopes("patients:read"))
_accept = audited("discrepancy", "accept", require_scopes("patients:write"))
_reject = audited("discrepancy", "reject", require_scopes("patients:write"))


def _current_discrepancy(trail: object, *, lock: bool) -> object:
    """Load-or-404 under the route's audit entry, which names the discrepancy and its patient."""

    async def get_current_discrepancy(
        discrepancy_id: DiscrepancyIdPath,
        session: SessionDep,
        audit: AuditTrail = trail,  # type: ignore[assignment]
    ) -> RowMapping:
        audit.resource_id = str(discrepancy_id)
        row = await usecases.get_discrepancy(session, discrepancy_id, lock=lock)
        audit.patient_id = row["patient_id"]
        return row

    return Depends(get_current_discrepancy)


DiscrepancyToRead = Annotated[RowMapping, _current_discrepancy(_read, lock=False)]
DiscrepancyToAccept = Annotated[RowMapping, _current_discrepancy(_accept, lock=True)]
DiscrepancyToReject = Annotated[RowMapping, _current_discrepancy(_reject, lock=True)]

DECIDE_ERRORS = {
    404: {"model": Problem, "description": "No such discrepancy."},
    409: {"model": Problem, "description": "Already accepted or rejected."},
}


@router.get(
    "",
    response_model=CursorPage[DiscrepancyOut],
    summary="Discrepancies, newest first",
    description="What payers' 271 answers said differently from the registry. `status=open` is "
    "the work list; filter by `patient_id`, and by `date_from`/`date_to` on when the discrepancy "
    "was recorded (`created_at`, UTC days). Paged with `cursor`/`limit`.",
)
async def list_discrepancies(
    session: SessionDep,
    trail: ListDiscrepancies,
    page: Page,
    dates: Dates,
    status: Annotated[Status | None, Query(description="open, accepted or rejected.")] = None,
    patient_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")] = None,
) -> CursorPage[DiscrepancyOut]:
    trail.patient_id = patient_id
    listed = await usecases.list_discrepancies(session, status, patient_id, dates, page)
    trail.saw(item.patient_id for item in listed.items)
    return listed


@router.get(
    "/{discrepancy_id}",
    response_model=DiscrepancyOut,
    summary="One discrepancy: each field with the registry's and the payer's value",
    responses={404: {"model": Problem, "description": "No such discrepancy."}},
)
async def get_discrepancy(discrepancy: DiscrepancyToRead) -> DiscrepancyOut:
    return usecases.describe(discrepancy)


@router.post(
    "/{discrepancy_id}/accept",
    response_model=DiscrepancyOut,
    summary="Accept the payer's values",
    description="Applies the payer's values (all fields, or those named in `fields`) through the "
    "same change as PATCH /v1/patients/{id} (and PATCH of the coverage for a member id), reason "
    "`payer_271`: a new revision, history, `patient.updated`/`coverage.updated`. Decided per "
    "field, so a discrepancy found against an older revision is still acceptable: a field the "
    "registry still holds as the check saw it is `applied`; one that holds the payer's value "
    "already is `already_applied`; one changed since to a third value is `superseded` and keeps "
    "that newer value; another payer on file is `not_applicable` (add the coverage).",
    responses=DECIDE_ERRORS,
)
async def accept_discrepancy(
    discrepancy: DiscrepancyToAccept,
    session: SessionDep,
    trail: Annotated[AuditTrail, _accept],
    body: DiscrepancyAccept | None = None,
) -> DiscrepancyOut:
    out = await usecases.accept(session, discrepancy, body or DiscrepancyAccept(), trail.actor)
    await session.commit()
    return out


@router.post(
    "/{discrepancy_id}/reject",
    response_model=DiscrepancyOut,
    summary="Reject: the registry is right",
    description="Closes the discrepancy with your note; the registry does not change.",
    responses=DECIDE_ERRORS,
)
async def reject_discrepancy(
    discrepancy: DiscrepancyToReject,
    body: DiscrepancyReject,
    session: SessionDep,
    trail: Annotated[AuditTrail, _reject],
) -> DiscrepancyOut:
    out = await usecases.reject(session, discrepancy, body.note, trail.actor)
    await session.commit()
    return out
