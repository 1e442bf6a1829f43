"""`claim.submitted`: payments keeps its copy of each claim and puts the charges on the account."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.claimcopies.usecases import record_claim, record_claims
from shared.events import Event
from shared.events.catalogue import ClaimSubmitted


async def on_claim_submitted(session: AsyncSession, event: Event) -> None:
    """One claim, handled as the batched handler handles it (tests and tools; the service
    registers the batched handler, and the consumer replays a failed poll through it)."""
    claim = event.data
    assert isinstance(claim, ClaimSubmitted)
    await record_claim(session, claim)


async def on_claims_submitted(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's claims, with one statement per table in the usual case."""
    await record_claims(session, events)
