"""Finishing what a crash left: a received file is kept before it is processed, so one
whose processing died (or whose event was given up) is processed again here."""

from __future__ import annotations

from fastapi import FastAPI

from services.payments.receipts import usecases
from services.payments.settings import payments_settings


async def retry_unprocessed(app: FastAPI, *, older_than_seconds: float | None = None) -> None:
    """Process the files kept at least `older_than_seconds` ago (default: the setting
    `PAYMENTS_INTAKE_RETRY_AFTER_SECONDS`) that nothing processed."""
    older_than = (
        payments_settings().intake_retry_after_seconds if older_than_seconds is None else older_than_seconds
    )
    await usecases.retry_unprocessed(app.state.db.session, older_than=older_than)
