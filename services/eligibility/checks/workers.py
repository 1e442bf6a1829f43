"""The `checks` worker: runs pending checks in the background (batches, checks whose request
stopped waiting, and checks whose process died).

It leases pending rows with FOR UPDATE SKIP LOCKED, so several replicas share the work, and
a row whose process died (lease ran out) or stopped (lease given back) is picked up again: a
restart loses nothing. Payer calls go through the payer client, whose per-payer rate
limiter paces a batch.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from fastapi import FastAPI

from services.eligibility.checks import store
from services.eligibility.checks.domain import GAVE_UP, MAX_ATTEMPTS
from services.eligibility.checks.usecases import load_for_run, release, run_owned, runtime
from shared.db import Database
from shared.stuckwork import Probe

log = logging.getLogger(__name__)


async def run_pending(app: FastAPI) -> None:
    """Worker step: claim a chunk of pending checks and run them, `worker_concurrency` at a
    time. On stop, every claimed check not finished is handed back."""
    rt = runtime(app)
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        await store.give_up(session, MAX_ATTEMPTS, GAVE_UP)
        ids = await store.claim_pending(
            session, lease_seconds=rt.settings.lease_seconds, limit=rt.settings.worker_claim
        )
        loaded = await load_for_run(session, rt, ids) if ids else {}
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


# A pending check runs within seconds (a worker round every 0.2 s; a crashed runner's lease,
# ELIGIBILITY_LEASE_SECONDS, 60 s, brings it back). One pending for ten minutes is not being
# answered: the payer is down (its breaker defers the check) or no worker runs. Whoever asked
# is waiting for the answer, so it warns.
PROBES = [
    Probe(
        "eligibility:checks-pending",
        store.pending_stats,
        warn_count=None,
        warn_age_seconds=600.0,
        unit="checks",
    )
]
