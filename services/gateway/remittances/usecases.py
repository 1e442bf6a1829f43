"""An 835 file → `remittance.received`, in the caller's transaction. The gateway does not read
the money: payments decides each ST/SE set on its own (and keeps the text as received), so the
event carries the whole file as it came."""

from __future__ import annotations

import re

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.inbound.domain import UNREADABLE, Outcome, Received
from services.gateway.remittances import domain
from shared.events import new_event
from shared.events.clearinghouse import RemittanceReceived
from shared.outbox import add_events
from shared.x12 import Interchange

_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


async def on_835(session: AsyncSession, received: Received, interchange: Interchange) -> Outcome:
    """Publish the remittance: trace number TRN02 of the first set, payer per
    `domain.payer_id`; a file naming neither goes to review."""
    found = domain.facts(interchange)
    payer = domain.payer_id(found, received.partner)
    if not found.trace_number:
        return Outcome.to_review(
            UNREADABLE, "the 835 has no TRN02 (trace number) in its first set", segment="TRN"
        )
    if not payer or not _ID.match(payer):
        return Outcome.to_review(
            UNREADABLE,
            "no payer id: N1*PR N104, REF*2U and TRN03 missing, and the partner has no default",
            segment="N1",
        )
    await add_events(
        session,
        [
            new_event(
                RemittanceReceived(
                    trace_number=found.trace_number[:50],
                    payer_id=payer,
                    x12_835=received.content,
                    received_at=received.received_at,
                    file_id=received.id,
                    partner_id=received.partner_id,
                )
            )
        ],
    )
    return Outcome(counts={"sets": len(interchange.transactions)})
