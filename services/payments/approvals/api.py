"""HTTP for the approvals queue: what waits for a second person, and approving or rejecting it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.payments.approvals import usecases
from services.payments.approvals.schemas import ApprovalOut, ApprovalStatus, DecisionIn
from shared.audit import AuditTrail, audited
from shared.auth import require_any_scope, require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import Problem, ProblemError

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
ListApprovals = Annotated[AuditTrail, audited("approval", "list", require_scopes("payments:read"))]
ReadApproval = Annotated[AuditTrail, audited("approval", "read", require_scopes("payments:read"))]
# A second person approves: an approver (`payments:approve`) or a payments admin (`payments:admin`,
# who also sets the money limits that send write-offs here), never the requester.
APPROVER = require_any_scope("payments:approve", "payments:admin")
Approve = Annotated[AuditTrail, audited("approval", "approve", APPROVER)]
Reject = Annotated[AuditTrail, audited("approval", "reject", APPROVER)]
ApprovalPage = Annotated[PageQuery, Depends(page_query(100, 500))]


def _not_found() -> ProblemError:
    return ProblemError(404, "not-found", "Approval not found")


@router.get("", response_model=CursorPage[ApprovalOut], summary="The approvals queue, oldest first")
async def list_approvals(
    session: SessionDep,
    trail: ListApprovals,
    page: ApprovalPage,
    dates: Dates,
    status: ApprovalStatus | None = ApprovalStatus.pending,
    kind: Annotated[str | None, Query(max_length=40)] = None,
) -> CursorPage[ApprovalOut]:
    rows, cursor = await usecases.page(session, page, dates, status=status, kind=kind)
    items = [ApprovalOut.model_validate(r, from_attributes=True) for r in rows]
    trail.saw_in(items, "account_id")  # the commands' summaries name the accounts they touch
    return CursorPage[ApprovalOut](items=items, next_cursor=cursor)


@router.get("/{approval_id}", response_model=ApprovalOut, summary="One approval")
async def get_approval(approval_id: uuid.UUID, session: SessionDep, trail: ReadApproval) -> ApprovalOut:
    trail.resource_id = str(approval_id)
    row = await usecases.get(session, approval_id)
    if row is None:
        raise _not_found()
    out = ApprovalOut.model_validate(row, from_attributes=True)
    trail.saw_in(out, "account_id")  # the account the command is about (in its summary)
    return out


@router.post(
    "/{approval_id}/approve",
    response_model=ApprovalOut,
    summary="Approve and run a waiting command (`payments:approve` or `payments:admin`; not the requester)",
    description="Runs the stored command (a large write-off or adjustment, a denial write-off, a "
    "cross-payer match) in the approver's transaction, once: the money moves now. **403** for the "
    "requester (rule `four_eyes`, whatever scopes they hold) and for a token with neither scope; "
    "**409** once decided; a command no longer valid (the balance moved) answers its problem and "
    "stays pending.",
    responses={403: {"model": Problem}, 404: {"model": Problem}, 409: {"model": Problem}},
)
async def approve(
    approval_id: uuid.UUID, session: SessionDep, trail: Approve, body: DecisionIn | None = None
) -> ApprovalOut:
    trail.resource_id = str(approval_id)
    row = await usecases.approve(session, approval_id, trail.actor, body.note if body else None)
    if row is None:
        raise _not_found()
    return ApprovalOut.model_validate(row, from_attributes=True)


@router.post(
    "/{approval_id}/reject",
    response_model=ApprovalOut,
    summary="Reject a waiting command; nothing runs (`payments:approve` or `payments:admin`)",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def reject(
    approval_id: uuid.UUID, session: SessionDep, trail: Reject, body: DecisionIn | None = None
) -> ApprovalOut:
    trail.resource_id = str(approval_id)
    row = await usecases.reject(session, approval_id, trail.actor, body.note if body else None)
    if row is None:
        raise _not_found()
    return ApprovalOut.model_validate(row, from_attributes=True)
