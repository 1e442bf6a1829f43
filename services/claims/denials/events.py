"""denial.resolved: payments wrote a denied balance off (approved) or billed it to the patient."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims.domain import event_actor
from services.claims.denials import usecases
from shared.consumer import Handler
from shared.events import Event
from shared.events.catalogue import DenialResolved


async def on_denial_resolved(session: AsyncSession, event: Event) -> None:
    """The denial leaves claims' A/R as it left payments'; the claim closes when nothing is owed."""
    resolved = event.data
    assert isinstance(resolved, DenialResolved)
    await usecases.resolved_in_payments(session, resolved, event_actor(event))


HANDLERS: dict[str, Handler] = {"denial.resolved": on_denial_resolved}
