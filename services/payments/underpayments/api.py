"""HTTP for underpayments: the work queue, one item with its history, the steps (dispute,
recover, accept; each audited, 409 when not allowed from the item's status) and the report
per payer and status."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.payments.underpayments import usecases
from services.payments.underpayments.schemas import (
    AcceptIn,
    DisputeIn,
    RecoverIn,
    Status,
    UnderpaymentDetail,
    UnderpaymentOut,
    UnderpaymentReport,
)
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import Problem, ProblemError

router = APIRouter(tags=["contracts"])
ListUnderpayments = Annotated[AuditTrail, audited("underpayment", "list", require_scopes("payments:read"))]
ReadUnderpayment = Annotated[AuditTrail, audited("underpayment", "read", require_scopes("payments:read"))]
Dispute = Annotated[AuditTrail, audited("underpayment", "dispute", require_scopes("payments:write"))]
Recover = Annotated[AuditTrail, audited("underpayment", "recover", require_scopes("payments:write"))]
Accept = Annotated[AuditTrail, audited("underpayment", "accept", require_scopes("payments:write"))]
ReadReport = Annotated[AuditTrail, audited("underpayment_report", "read", require_scopes("payments:read"))]
UnderpaymentPage = Annotated[PageQuery, Depends(page_query(100, 1000))]
UnderpaymentId = Annotated[uuid.UUID, Path()]
STEP_PROBLEMS = {404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}}


def _not_found() -> ProblemError:
    return ProblemError(404, "not-found", "Underpayment not found")


def _found(found: UnderpaymentDetail | None) -> UnderpaymentDetail:
    if found is None:
        raise _not_found()
    return found


@router.get(
    "/v1/underpayments",
    response_model=CursorPage[UnderpaymentOut],
    summary="Lines paid below contract: the work queue",
    description="With `status`, the queue of that status, oldest first (the order it is worked in); "
    "without, every underpayment, newest detected first. `date_from`/`date_to` filter by detection date.",
)
async def list_underpayments(
    session: SessionDep,
    trail: ListUnderpayments,
    page: UnderpaymentPage,
    dates: Dates,
    status: Status | None = None,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    claim_id: uuid.UUID | None = None,
) -> CursorPage[UnderpaymentOut]:
    items, cursor = await usecases.list_underpayments(
        session, page, dates, payer_id=payer_id, claim_id=claim_id, status=status
    )
    trail.saw(await usecases.accounts_of(session, [item.claim_id for item in items]))
    return CursorPage[UnderpaymentOut](items=items, next_cursor=cursor)


@router.get(
    "/v1/underpayments/{underpayment_id}",
    response_model=UnderpaymentDetail,
    summary="An underpayment and every step taken on it",
    responses={404: {"model": Problem}},
)
async def get_underpayment(
    underpayment_id: UnderpaymentId, session: SessionDep, trail: ReadUnderpayment
) -> UnderpaymentDetail:
    trail.resource_id = str(underpayment_id)
    found = _found(await usecases.detail(session, underpayment_id))
    trail.patient_id = next(iter(await usecases.accounts_of(session, [found.claim_id])), None)
    return found


@router.post(
    "/v1/underpayments/{underpayment_id}/dispute",
    response_model=UnderpaymentDetail,
    summary="Take an open underpayment up with the payer (note, payer's reference)",
    responses=STEP_PROBLEMS,
)
async def dispute(
    underpayment_id: UnderpaymentId, body: DisputeIn, session: SessionDep, trail: Dispute
) -> UnderpaymentDetail:
    trail.resource_id = str(underpayment_id)
    return _found(await usecases.transition(session, underpayment_id, "dispute", body, trail.actor))


@router.post(
    "/v1/underpayments/{underpayment_id}/recover",
    response_model=UnderpaymentDetail,
    summary="Close a disputed underpayment: the payer paid back this amount (at most the variance)",
    description="Records the outcome; the money itself is posted from the 835 that paid it. A later 835 "
    "posting of the same claim that allows more recovers an open or disputed underpayment by itself.",
    responses=STEP_PROBLEMS,
)
async def recover(
    underpayment_id: UnderpaymentId, body: RecoverIn, session: SessionDep, trail: Recover
) -> UnderpaymentDetail:
    trail.resource_id = str(underpayment_id)
    return _found(await usecases.transition(session, underpayment_id, "recover", body, trail.actor))


@router.post(
    "/v1/underpayments/{underpayment_id}/accept",
    response_model=UnderpaymentDetail,
    summary="Close a disputed underpayment: accept the payer's amount, the variance written off (reason)",
    description="The posting already wrote the variance off with the payer's own adjustment (CO-45), so "
    "no ledger row is added; the decision and its reason are kept.",
    responses=STEP_PROBLEMS,
)
async def accept(
    underpayment_id: UnderpaymentId, body: AcceptIn, session: SessionDep, trail: Accept
) -> UnderpaymentDetail:
    trail.resource_id = str(underpayment_id)
    return _found(await usecases.transition(session, underpayment_id, "accept", body, trail.actor))


@router.get(
    "/v1/reports/underpayments",
    response_model=UnderpaymentReport,
    summary="Underpaid variance per payer and status (with what was recovered and accepted)",
)
async def underpayment_report(
    session: SessionDep,
    _: ReadReport,
    dates: Dates,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
) -> UnderpaymentReport:
    return await usecases.report(session, dates, payer_id)
