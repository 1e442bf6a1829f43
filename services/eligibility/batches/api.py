"""Batch routes: queue many checks at once (202), and read a batch's progress."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import JSONResponse
from sqlalchemy import RowMapping

from services.eligibility.batches import usecases
from services.eligibility.batches.schemas import BatchIn, BatchOut
from services.eligibility.checks.usecases import CheckRuntime, request_runtime
from shared import idempotency
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.limits import BATCH_BODY
from shared.problems import ProblemError

router = APIRouter(prefix="/v1/eligibility/batches", tags=["eligibility"])

CreateBatch = Annotated[
    AuditTrail, audited("eligibility_batch", "create", require_scopes("eligibility:write"))
]
ReadBatch = Annotated[AuditTrail, audited("eligibility_batch", "read", require_scopes("eligibility:read"))]
Runtime = Annotated[CheckRuntime, Depends(request_runtime)]


async def get_current_batch(
    batch_id: Annotated[uuid.UUID, Path()], session: SessionDep, trail: ReadBatch
) -> RowMapping:
    """The batch in the path; 404 if none."""
    trail.resource_id = str(batch_id)
    batch = await usecases.load_batch(session, batch_id)
    if batch is None:
        raise ProblemError(404, "not-found", "Batch not found", "No batch with this id.")
    return batch


CurrentBatch = Annotated[RowMapping, Depends(get_current_batch)]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    summary="Check many patients in the background",
    description="Answers 202 at once; poll the Location for progress (done, failed, pending) and "
    "per-patient results. Each payer's rate limit paces the work. With an `Idempotency-Key`, a "
    "retried POST answers the first batch instead of queueing it again. A body over "
    "BODY_LIMIT_BATCH_BYTES gets 413, a list over the cap 422, before any check is looked at.",
    openapi_extra=BATCH_BODY,
)
async def create_batch(
    body: BatchIn,
    session: SessionDep,
    trail: CreateBatch,
    rt: Runtime,
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:
    usecases.validate(rt, body)
    outcome = await usecases.create_batch(session, rt, body, trail.actor, idempotency_key)
    trail.resource_id = str(outcome.body["id"])
    trail.saw(check.patient_id for check in body.checks)  # every patient the batch will check
    return outcome.response(headers={"Location": usecases.location_of(outcome.body["id"])})


@router.get("/{batch_id}", response_model=BatchOut, summary="A batch's progress and per-patient results")
async def get_batch(
    batch: CurrentBatch,
    session: SessionDep,
    trail: ReadBatch,
    results: Annotated[bool, Query(description="Include per-patient results.")] = True,
) -> BatchOut:
    progress = await usecases.progress(session, batch, with_results=results)
    trail.saw_in(progress)  # the audit names every patient whose result it shows
    return progress
