"""The processing worker: files kept by the mailbox poller (or left `received` by a crash) are
identified and acted on here, each in one transaction with everything it causes."""

from __future__ import annotations

from fastapi import FastAPI

from services.gateway.inbound import usecases
from services.gateway.settings import gateway_settings


async def process_received(app: FastAPI) -> None:
    """One round: lease due files (shared.due.claim_due) and process each."""
    settings = gateway_settings(app)
    await usecases.process_due(
        app.state.db.session,
        usecases.partners_of(app.state),
        limit=settings.process_batch,
        lease=settings.process_lease_seconds,
    )
