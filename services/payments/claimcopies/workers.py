"""The claim copies' background step: parked 835 claims whose claim is on file are posted to
it (a sweep behind the match made when the claim arrives)."""

from __future__ import annotations

from fastapi import FastAPI

from services.payments.claimcopies.usecases import rematch_stranded


async def rematch_worker(app: FastAPI) -> None:
    """One round: what the match on arrival missed (stranded before the claim-copies lock, or by
    a crash) is posted through the one posting path; replicas share the rows (SKIP LOCKED)."""
    await rematch_stranded(app.state.db.session)
