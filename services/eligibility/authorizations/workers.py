"""The `authorization-alerts` worker: announces authorizations about to lapse."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import FastAPI

from services.eligibility.authorizations.usecases import send_expiring_alerts
from services.eligibility.settings import app_settings


async def alert_step(app: FastAPI, today: date | None = None) -> int:
    """Publish the expiring alerts that are due (as of `today`); returns how many went out."""
    return await send_expiring_alerts(app.state.db, app_settings(app), today or datetime.now(UTC).date())


async def alert_worker(app: FastAPI) -> None:
    await alert_step(app)
