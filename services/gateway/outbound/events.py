"""`claim.submitted`: every submitted claim is queued for the partner its 837 is addressed to
(or recorded as ignored), once per event."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.outbound.usecases import record_claims
from services.gateway.partners.usecases import configured_partners
from shared.events import Event


async def on_claims_submitted(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's claims, one INSERT (a 5,000-claim burst is a few statements, not 5,000)."""
    await record_claims(session, events, configured_partners())
