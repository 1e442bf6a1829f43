"""The reconciliation's background step: deposits that arrived before their 835 (or before
their card batch closed) are matched when it comes."""

from __future__ import annotations

from fastapi import FastAPI

from services.payments.reconciliation.usecases import match_open

ACTOR = "reconciliation-worker"


async def match_worker(app: FastAPI) -> None:
    """One round: open deposits whose reference now names an open 835 or batch, matched by
    rule, in one transaction (the deposits are row-locked, so replicas share the work)."""
    async with app.state.db.session() as session, session.begin():
        await match_open(session, ACTOR)
