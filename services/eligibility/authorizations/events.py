"""claim.submitted: the visits claims bill against authorizations (their REF*G1 numbers)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.authorizations import usecases
from shared.consumer import Batched, batched
from shared.events import Event
from shared.events.catalogue import ClaimSubmitted


async def on_claims_submitted(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's submitted claims: their authorized visits counted in a few statements."""
    claims = [e.data for e in events if isinstance(e.data, ClaimSubmitted)]
    await usecases.count_billed_visits(session, claims)


# Keyed by topic (service.py subscribes the consumer to these).
HANDLERS: dict[str, Batched] = {"claim.submitted": batched(on_claims_submitted)}
