"""Kafka handlers of estimates: `fee_schedule.updated` from payments."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.estimates.usecases import keep_fee_schedule
from shared.events.catalogue import FeeScheduleUpdated
from shared.events.envelope import Event


async def on_fee_schedule_updated(session: AsyncSession, event: Event) -> None:
    """Keep our copy of a payer's allowed amounts."""
    data = event.data
    assert isinstance(data, FeeScheduleUpdated)
    await keep_fee_schedule(session, data)
