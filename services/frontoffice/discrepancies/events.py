"""Eligibility's 271 disagreed with the registry (`eligibility.discrepancy_found`): a
discrepancy opens for staff, once per check."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.discrepancies import usecases
from shared.consumer import Handler
from shared.events import Event
from shared.events.frontoffice import DiscrepancyFound


async def on_discrepancy_found(session: AsyncSession, event: Event) -> None:
    """Open the discrepancy (a redelivered event finds it opened)."""
    found = event.data
    assert isinstance(found, DiscrepancyFound)
    await usecases.open_discrepancy(session, found)


HANDLERS: dict[str, Handler] = {"eligibility.discrepancy_found": on_discrepancy_found}
