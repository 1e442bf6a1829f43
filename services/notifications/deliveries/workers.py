"""The delivery workers, one loop per push channel (so a slow SMS provider never holds up email,
nor the reverse), and the sender they share, made when the service starts and closed when it
stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from services.notifications.channels.usecases import open_channels
from services.notifications.deliveries.usecases import Sender
from services.notifications.settings import notification_settings


@contextlib.asynccontextmanager
async def sender(app: FastAPI) -> AsyncIterator[None]:
    """The service's lifespan resource: the channel adapters and the sender on app.state."""
    settings = notification_settings(app)
    async with open_channels(settings) as adapters:
        app.state.notification_sender = Sender(app.state.db, settings, adapters)
        try:
            yield
        finally:
            del app.state.notification_sender


def deliver_due(channel: str) -> Callable[[FastAPI], Awaitable[None]]:
    """A worker step for one channel: drain what is due, batch after batch, then let the loop
    sleep."""

    async def step(app: FastAPI) -> None:
        sender: Sender = app.state.notification_sender

        async def drain() -> None:
            while await sender.round(channel) >= sender.settings.worker_batch_size:
                pass

        # Two rounds in flight: one sends while the other claims or records (the lease keeps
        # them off each other's rows), so the provider is never idle between batches.
        await asyncio.gather(drain(), drain())

    step.__name__ = f"deliver_{channel}"
    return step
