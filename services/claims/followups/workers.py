"""The follow-up worker: every minute, one round of publish_due on every replica."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI

from services.claims.claims.domain import now as clock
from services.claims.followups.usecases import publish_due
from shared.app import Worker
from shared.db import Database


async def step(app: FastAPI, now: datetime | None = None) -> int:
    """One round in its own transaction; `now` lets tests look a month ahead."""
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        return await publish_due(session, now or clock())


WORKERS = [Worker("followups", step, every_seconds=60.0)]
