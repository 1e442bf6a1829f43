"""The delivery workers, one loop per push channel (so a slow SMS provider never holds up email,
nor the reverse), and the sender they share, made when the service starts and closed when it
stops; and the deliveries' stuck-work probes (shared.stuckwork)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.channels.usecases import open_channels
from services.notifications.deliveries import store
from services.notifications.deliveries.usecases import Sender
from services.notifications.settings import notification_settings
from shared.stuckwork import Probe


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


async def _failed_today(session: AsyncSession) -> tuple[int, float | None]:
    return await store.failed_since(session, 24)


# - deliveries-overdue: a due pending delivery is taken within a round (0.2 s) and a crashed
#   sender's lease (NOTIFICATIONS_LEASE_SECONDS, 10 s) runs out within seconds; one due for a
#   minute means no sender is working (every replica down, or the loop failing). Deliveries
#   waiting for a scheduled retry are not due and not counted.
# - deliveries-failed: made in the last 24 hours and given up (bad address, provider refusal,
#   retries spent): the person was not told; any warns.
PROBES = [
    Probe(
        "notifications:deliveries-overdue",
        store.overdue,
        warn_count=None,
        warn_age_seconds=60.0,
        unit="deliveries",
    ),
    Probe("notifications:deliveries-failed", _failed_today, warn_count=1, unit="deliveries"),
]
