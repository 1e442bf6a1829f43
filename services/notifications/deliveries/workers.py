"""The delivery workers: one loop per push channel, so a slow SMS provider never holds up
email, nor the reverse."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from services.notifications.deliveries.usecases import Sender
from services.notifications.settings import notification_settings


def _sender(app: FastAPI) -> Sender:
    sender: Sender | None = getattr(app.state, "notification_sender", None)
    if sender is None:
        sender = Sender(app.state.db, notification_settings(app))
        app.state.notification_sender = sender
    return sender


def deliver_due(channel: str) -> Callable[[FastAPI], Awaitable[None]]:
    """A worker step for one channel: drain what is due, batch after batch, then let the loop
    sleep."""

    async def step(app: FastAPI) -> None:
        sender = _sender(app)

        async def drain() -> None:
            while await sender.round(channel) >= sender.settings.worker_batch_size:
                pass

        # Two rounds in flight: one sends while the other claims or records (the lease keeps
        # them off each other's rows), so the provider is never idle between batches.
        await asyncio.gather(drain(), drain())

    step.__name__ = f"deliver_{channel}"
    return step
