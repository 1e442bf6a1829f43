"""HTTP for denied balances: read a claim's, bill the patient for a PR denial, ask for a write-off."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import JSONResponse

from services.payments.approvals import usecases as approvals
from services.payments.approvals.schemas import ApprovalOut
from services.payments.denials import usecases
from services.payments.denials.schemas import BillPatientIn, DeniedItemOut, Worked, WriteOffIn
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.problems import Problem

router = APIRouter(prefix="/v1/denials", tags=["denials"])
ReadDenial = Annotated[AuditTrail, audited("denied_balance", "read", require_scopes("payments:read"))]
BillPatient = Annotated[
    AuditTrail, audited("denied_balance", "bill_patient", require_scopes("payments:write"))
]
WriteOff = Annotated[AuditTrail, audited("denied_balance", "write_off", require_scopes("payments:write"))]
ClaimIdPath = Annotated[uuid.UUID, Path(description="The claim (its item on the account).")]


@router.get("/{claim_id}", response_model=DeniedItemOut, summary="A claim's denied balance")
async def get_denied(claim_id: ClaimIdPath, session: SessionDep, trail: ReadDenial) -> DeniedItemOut:
    trail.resource_id = str(claim_id)
    item = await usecases.get_item(session, claim_id)
    trail.patient_id = item.account_id
    return usecases.item_out(item)


@router.post(
    "/{claim_id}/bill-patient",
    status_code=status.HTTP_201_CREATED,
    response_model=Worked,
    summary="Bill the patient for a PR denial (Idempotency-Key required)",
    description="Moves the open PR (patient responsibility) denial from insurance to the patient and tells "
    "claims (denial.resolved). A CO denial is refused: the provider may not bill the patient for it.",
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def bill_patient(
    claim_id: ClaimIdPath,
    session: SessionDep,
    trail: BillPatient,
    body: BillPatientIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    trail.resource_id = str(claim_id)
    body = body or BillPatientIn()
    outcome = await idempotent_write(
        session,
        scope=f"bill-patient:{claim_id}",
        actor=trail.actor,
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=partial(usecases.bill_patient, session, claim_id, body),
    )
    trail.patient_id = outcome.body["account_id"]
    return outcome.response()


@router.post(
    "/{claim_id}/write-off",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ApprovalOut,
    summary="Ask to write a denied balance off (a second person approves it)",
    description="Stores the write-off as an approval of kind `denial_write_off`, whatever its size; "
    "`POST /v1/approvals/{id}/approve` by someone else (`payments:approve` or `payments:admin`) writes "
    "the ledger adjustment and tells claims (denial.resolved). More than the practice's maximum "
    "write-off (`GET /v1/money-limits`) is a 422 naming `body.amount` and the rule `max_write_off`, and "
    "nothing is asked.",
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def write_off(
    claim_id: ClaimIdPath, body: WriteOffIn, session: SessionDep, trail: WriteOff
) -> JSONResponse:
    trail.resource_id = str(claim_id)
    row = await usecases.request_write_off(session, claim_id, body, trail.actor)
    trail.patient_id = row.summary["account_id"]
    return approvals.pending_response(row)
