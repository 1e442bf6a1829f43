"""Batch checks (tomorrow's appointments): accepted at once, run in the background.

A batch is its checks: rows in `checks` with the batch id, `pending` until done or
failed. The `checks` worker claims pending rows with FOR UPDATE SKIP LOCKED and a lease,
so several replicas share the work and a row whose process died (lease ran out) or stopped
(lease given back) is picked up again: a restart loses nothing. Payer calls go through the
payer client, whose per-payer rate limiter paces the batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from services.eligibility.checks import (
    INSERT_CHECK,
    CheckIn,
    load_many_for_run,
    new_row,
    release,
    run_owned,
    unknown_payer,
)
from services.eligibility.runtime import runtime
from shared import idempotency
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import Database, SessionDep
from shared.problems import ProblemError, invalid

log = logging.getLogger(__name__)

_CLAIM = text(
    "UPDATE checks SET lease_until = clock_timestamp() + make_interval(secs => :lease), "
    "attempts = attempts + 1 WHERE id IN (SELECT id FROM checks WHERE state = 'pending' "
    "AND (lease_until IS NULL OR lease_until < clock_timestamp()) ORDER BY created_at "
    "LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING id"
)


# A check claimed this many times without finishing (a payer paused for long, a bug, a key
# that no longer decrypts) is failed instead of being retried for ever.
MAX_ATTEMPTS = 30
_GAVE_UP = json.dumps(
    {"code": "gave-up", "detail": f"Not finished after {MAX_ATTEMPTS} attempts.", "retryable": True}
)
_GIVE_UP = text(
    "UPDATE checks SET state = 'failed', error = CAST(:error AS jsonb), request_enc = NULL, "
    "completed_at = clock_timestamp(), lease_until = NULL WHERE state = 'pending' AND attempts >= :max "
    "AND (lease_until IS NULL OR lease_until < clock_timestamp())"
)


async def run_pending(app: FastAPI) -> None:
    """Worker step: claim a chunk of pending checks and run them, `worker_concurrency` at a
    time. On stop, every claimed check not finished is handed back."""
    rt = runtime(app)
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        await session.execute(_GIVE_UP, {"max": MAX_ATTEMPTS, "error": _GAVE_UP})
        ids = list(
            (
                await session.execute(
                    _CLAIM, {"lease": rt.settings.lease_seconds, "n": rt.settings.worker_claim}
                )
            ).scalars()
        )
        loaded = await load_many_for_run(session, rt, ids) if ids else {}
    if not ids:
        return
    gate = asyncio.Semaphore(rt.settings.worker_concurrency)

    async def one(check_id: uuid.UUID) -> None:
        async with gate:
            try:
                await run_owned(db, rt, check_id, background=True, loaded=loaded.get(check_id))
            except Exception as exc:  # the lease runs out and the check is tried again
                log.warning("background check failed", extra={"error_type": type(exc).__name__})

    tasks = [asyncio.create_task(one(i)) for i in ids]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.shield(release(db, ids))
        raise


# --- API ---------------------------------------------------------------------------------


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: list[CheckIn] = Field(min_length=1, description="Up to ELIGIBILITY_MAX_BATCH_SIZE checks.")


class BatchResult(BaseModel):
    check_id: uuid.UUID
    patient_id: str
    payer_id: str
    state: str
    status: str | None
    plan_name: str | None = None
    rejection_reason: str | None = None
    follow_up_action: str | None = None
    error_code: str | None = None
    cached: bool = False


class BatchOut(BaseModel):
    id: uuid.UUID
    total: int
    done: int
    failed: int
    pending: int
    complete: bool
    created_at: datetime
    results: list[BatchResult] = Field(default_factory=list)
    links: dict[str, str]


router = APIRouter(prefix="/v1/eligibility/batches", tags=["eligibility"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    summary="Check many patients in the background",
    description="Answers 202 at once; poll the Location for progress (done, failed, pending) and "
    "per-patient results. Each payer's rate limit paces the work. With an `Idempotency-Key`, a "
    "retried POST answers the first batch instead of queueing it again.",
)
async def create_batch(
    request: Request,
    body: BatchIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("eligibility_batch", "create", require_scopes("eligibility:write"))],
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> JSONResponse:
    rt = runtime(request.app)
    if len(body.checks) > rt.settings.max_batch_size:
        raise invalid(
            ("body.checks", "too_long", "Split the batch."),
            detail=f"A batch holds at most {rt.settings.max_batch_size} checks.",
        )
    for i, check in enumerate(body.checks):
        unknown_payer(rt, check.payer_id, f"body.checks.{i}.payer_id")
    batch_id = uuid.uuid4()
    rows = [new_row(rt, check, trail.actor, batch_id=batch_id) for check in body.checks]
    async with session.begin():
        claimed = None
        if idempotency_key is not None:  # optional: a retried POST then never queues the batch twice
            claimed = await idempotency.claim(
                session,
                scope="eligibility-batch",
                key=idempotency.require_key(idempotency_key),
                request_hash=idempotency.fingerprint(body.model_dump(mode="json")),
            )
            if claimed.replay is not None:
                trail.resource_id = str(claimed.stored_body.get("id"))
                return claimed.replay
        created = (
            await session.execute(
                text(
                    "INSERT INTO batches (id, requested_by, total) VALUES (:id, :by, :total) "
                    "RETURNING created_at"
                ),
                {"id": batch_id, "by": trail.actor, "total": len(rows)},
            )
        ).scalar_one()
        await session.execute(INSERT_CHECK, rows)
        location = f"/v1/eligibility/batches/{batch_id}"
        out = BatchOut(
            id=batch_id,
            total=len(rows),
            done=0,
            failed=0,
            pending=len(rows),
            complete=False,
            created_at=created,
            links={"self": location},
        ).model_dump(mode="json")
        if claimed is not None:
            await idempotency.store(session, claimed, status.HTTP_202_ACCEPTED, out)
    trail.resource_id = str(batch_id)
    return JSONResponse(out, status_code=202, headers={"Location": location})


@router.get("/{batch_id}", response_model=BatchOut, summary="A batch's progress and per-patient results")
async def get_batch(
    batch_id: Annotated[uuid.UUID, Path()],
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("eligibility_batch", "read", require_scopes("eligibility:read"))],
    results: Annotated[bool, Query(description="Include per-patient results.")] = True,
) -> BatchOut:
    trail.resource_id = str(batch_id)
    batch = (
        (
            await session.execute(
                text("SELECT id, total, created_at FROM batches WHERE id = :id"), {"id": batch_id}
            )
        )
        .mappings()
        .one_or_none()
    )
    if batch is None:
        raise ProblemError(404, "not-found", "Batch not found", "No batch with this id.")
    counts = dict(
        (
            await session.execute(
                text("SELECT state, count(*) FROM checks WHERE batch_id = :id GROUP BY state"),
                {"id": batch_id},
            )
        ).all()
    )
    items: list[BatchResult] = []
    if results:
        rows = (
            await session.execute(
                text(
                    "SELECT id, patient_id, payer_id, state, status, result, error, cached_from "
                    "FROM checks WHERE batch_id = :id ORDER BY created_at, id"
                ),
                {"id": batch_id},
            )
        ).mappings()
        items = [_result(r) for r in rows]
    done, failed, pending = counts.get("done", 0), counts.get("failed", 0), counts.get("pending", 0)
    return BatchOut(
        id=batch["id"],
        total=batch["total"],
        done=done,
        failed=failed,
        pending=pending,
        complete=pending == 0,
        created_at=batch["created_at"],
        results=items,
        links={"self": f"/v1/eligibility/batches/{batch_id}"},
    )


def _result(row: Any) -> BatchResult:
    result = row["result"] or {}
    rejection = next(iter(result.get("rejections", [])), None)
    return BatchResult(
        check_id=row["id"],
        patient_id=row["patient_id"],
        payer_id=row["payer_id"],
        state=row["state"],
        status=row["status"],
        plan_name=result.get("plan_name"),
        rejection_reason=rejection["reason"] if rejection else None,
        follow_up_action=rejection["follow_up_action"] if rejection else None,
        error_code=(row["error"] or {}).get("code"),
        cached=row["cached_from"] is not None,
    )
