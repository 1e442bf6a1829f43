"""`claim.submitted`: every submitted claim is queued for the partner its 837 is addressed to
(or recorded as ignored), once per event."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.outbound.usecases import record_claim
from services.gateway.partners.usecases import configured_partners
from shared.events import Event


async def on_claim_submitted(session: AsyncSession, event: Event) -> None:
    await record_claim(session, event, configured_partners())
