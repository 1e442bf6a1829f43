"""Creating a batch (its checks queued for the checks worker) and reading its progress."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import RowMapping
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.batches import store
from services.eligibility.batches.schemas import BatchIn, BatchOut, BatchResult
from services.eligibility.checks import store as checks_store
from services.eligibility.checks.domain import new_row
from services.eligibility.checks.usecases import CheckRuntime
from services.eligibility.payers.usecases import require_known
from shared.idempotency import Outcome, idempotent_write
from shared.problems import invalid


def location_of(batch_id: uuid.UUID | str) -> str:
    return f"/v1/eligibility/batches/{batch_id}"


def validate(rt: CheckRuntime, body: BatchIn) -> None:
    """422 for a batch too big, or naming each check whose payer is unknown."""
    if len(body.checks) > rt.settings.max_batch_size:
        raise invalid(
            ("body.checks", "too_long", "Split the batch."),
            detail=f"A batch holds at most {rt.settings.max_batch_size} checks.",
        )
    for i, check in enumerate(body.checks):
        require_known(rt.payers, check.payer_id, f"body.checks.{i}.payer_id")


async def create_batch(
    session: AsyncSession, rt: CheckRuntime, body: BatchIn, requested_by: str, key: str | None
) -> Outcome:
    """Queue the batch's checks (one statement) with the batch row, in one transaction. With an
    Idempotency-Key (optional here), a retried POST answers the first batch instead of queueing
    it again."""

    async def write() -> dict[str, Any]:
        batch_id = uuid.uuid4()
        rows = [new_row(rt.vault, check, requested_by, batch_id=batch_id) for check in body.checks]
        created = await store.insert_batch(session, batch_id, requested_by, len(rows))
        await checks_store.insert_checks(session, rows)
        return BatchOut(
            id=batch_id,
            total=len(rows),
            done=0,
            failed=0,
            pending=len(rows),
            complete=False,
            created_at=created,
            links={"self": location_of(batch_id)},
        ).model_dump(mode="json")

    return await idempotent_write(
        session,
        scope="eligibility-batch",
        actor=requested_by,
        key=key,
        request=body.model_dump(mode="json"),
        write=write,
        status_code=202,
        required=False,
    )


def _result(row: RowMapping) -> BatchResult:
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


async def load_batch(session: AsyncSession, batch_id: uuid.UUID) -> RowMapping | None:
    return await store.load_batch(session, batch_id)


async def progress(session: AsyncSession, batch: RowMapping, *, with_results: bool) -> BatchOut:
    """Done, failed and pending counts, and (optionally) each check's outcome."""
    counts = await store.state_counts(session, batch["id"])
    items = [_result(r) for r in await store.results(session, batch["id"])] if with_results else []
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
        links={"self": location_of(batch["id"])},
    )
