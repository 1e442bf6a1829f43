"""`encounter.completed` and `patient.updated`: payments keeps who the patient and guarantor
are (contact only)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.parties.usecases import record_encounters, record_registry
from shared.events import Event


async def on_encounters_completed(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's encounters, one statement for all."""
    await record_encounters(session, events)


async def on_patients_updated(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's registry changes, one statement for all (the highest revision wins)."""
    await record_registry(session, events)
