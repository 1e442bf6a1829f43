"""Events that make claims: a partner EHR's encounter.completed.

The broker is shared with partners and other services: an encounter from an EHR this
practice does not take claims from is ignored, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.submission import usecases
from shared.consumer import Batched, batched
from shared.events import Event


async def on_encounters_completed(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's encounters become claims, scrubbed and (by policy) submitted, in one batch."""
    await usecases.create_from_encounters(session, events)


# Keyed by topic (service.py subscribes the consumer to these).
HANDLERS: dict[str, Batched] = {"encounter.completed": batched(on_encounters_completed)}
