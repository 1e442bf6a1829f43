"""The Kafka handlers: every subscribed topic's events go to `handle_all`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.messages.usecases import handle_all
from shared.events import Event


async def on_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """The handler of every subscribed topic: a poll's events of one topic at once."""
    await handle_all(session, events)


async def on_event(session: AsyncSession, event: Event) -> None:
    """One event on its own (a replay outside the consumer)."""
    await handle_all(session, [event])
