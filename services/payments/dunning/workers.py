"""The account cycle's background run: today's cycle, on every replica (they take turns)."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI

from services.payments.dunning.usecases import run_cycle


async def cycle_worker(app: FastAPI) -> None:
    """Today's cycle, in its own transaction."""
    async with app.state.db.session() as session, session.begin():
        await run_cycle(session, date.today())
