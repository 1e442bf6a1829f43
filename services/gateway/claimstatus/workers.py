"""The claim-status sender: every few seconds, due inquiries (taken with a lease, so replicas
share them and a crashed one's come back) are asked of their partners in real time."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from services.gateway.claimstatus import store, usecases
from shared.app import Worker
from shared.db import Database

BATCH = 20
LEASE_SECONDS = 120.0


async def step(app: FastAPI) -> None:
    """One round: take due inquiries, then send each (the calls run outside the taking
    transaction; the lease keeps other replicas off them meanwhile); then each batch partner's
    waiting inquiries become one 276 file for the outbound uploader."""
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        due = await store.take_due(session, BATCH, LEASE_SECONDS)
    sender = usecases.sender_of(app)
    if due:
        await usecases.send_due(db, sender, due, "gateway:claim-status")
    for partner in sender.partners.values():
        if partner.claim_status.mode == "batch":
            async with db.session() as session, session.begin():
                await usecases.build_batch(session, partner, datetime.now(UTC))


WORKERS = [Worker("claim-status", step, every_seconds=2.0)]
