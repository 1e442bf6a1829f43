"""The processing worker: files kept by the mailbox poller (or left `received` by a crash) are
identified and acted on here, each in one transaction with everything it causes."""

from __future__ import annotations

from fastapi import FastAPI

from services.gateway.inbound import store, usecases
from services.gateway.partners.usecases import partners_by_id
from services.gateway.settings import gateway_settings
from shared.stuckwork import Probe


async def process_received(app: FastAPI) -> None:
    """One round: lease due files (shared.due.claim_due) and process each."""
    settings = gateway_settings(app)
    await usecases.process_due(
        app.state.db.session,
        partners_by_id(app),
        limit=settings.process_batch,
        lease=settings.process_lease_seconds,
    )


# Stuck work (shared.stuckwork): a kept file unprocessed after ten minutes means the worker is
# stuck or a file keeps failing; a file in review waits for a person (its claims' answers are
# not published until then), so one waiting a day warns.
PROBES = [
    Probe(
        "gateway:received-unprocessed",
        store.unprocessed_count,
        warn_count=None,
        warn_age_seconds=600.0,
        unit="files",
    ),
    Probe(
        "gateway:review-queue",
        store.open_review_count,
        warn_count=None,
        warn_age_seconds=86400.0,
        unit="files",
    ),
]
