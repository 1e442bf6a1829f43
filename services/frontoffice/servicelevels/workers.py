"""The breach worker: every tick, on every replica, one round of escalate_due (SKIP LOCKED:
replicas share the breached tickets, each escalated once per level)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from services.frontoffice.servicelevels.usecases import escalate_due
from services.frontoffice.settings import frontoffice_settings
from shared.app import Worker
from shared.db import Database


async def step(app: FastAPI, now: datetime | None = None) -> int:
    """One round in its own transaction; `now` lets a test look past a due time."""
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        return await escalate_due(session, frontoffice_settings(app), now or datetime.now(UTC))


async def _tick(app: FastAPI) -> None:
    await step(app)


WORKERS = [Worker("ticket-breaches", _tick, every_seconds=30.0)]
