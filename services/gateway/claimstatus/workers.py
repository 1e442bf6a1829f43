"""The claim-status sender: every few seconds, due inquiries (taken with a lease, so replicas
share them and a crashed one's come back) are asked of their partners in real time."""

from __future__ import annotations

from fastapi import FastAPI

from services.gateway.claimstatus import store, usecases
from shared.app import Worker
from shared.db import Database

BATCH = 20
LEASE_SECONDS = 120.0


async def step(app: FastAPI) -> None:
    """One round: take due inquiries, then send each (the calls run outside the taking
    transaction; the lease keeps other replicas off them meanwhile)."""
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        due = await store.take_due(session, BATCH, LEASE_SECONDS)
    if due:
        await usecases.send_due(db, usecases.sender_of(app), due, "gateway:claim-status")


WORKERS = [Worker("claim-status", step, every_seconds=2.0)]
