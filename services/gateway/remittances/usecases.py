"""An 835 file → one `remittance.received` per transaction set, in the caller's transaction.

A set is one payment (one BPR, one TRN): payments decides each set on its own and knows it by
its trace number, so each set travels alone, re-enveloped in the file's ISA/GS
(`remittances.x12`), keyed by its own TRN02 with its own payer. A file of one set travels as
it came. The gateway does not read the money. Kafka takes a record up to a bound
(`shared.kafka.X12_EVENT_MAX_BYTES`); a set whose event would be larger goes to review, as no
broker would ever take it."""

from __future__ import annotations

import re

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.inbound.domain import TOO_LARGE, UNREADABLE, Outcome, Received
from services.gateway.remittances import domain, x12
from shared.events import Event, new_event
from shared.events.clearinghouse import RemittanceReceived
from shared.events.envelope import payload_bytes
from shared.kafka import X12_EVENT_MAX_BYTES
from shared.outbox import add_events
from shared.x12 import Interchange

_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


async def on_835(session: AsyncSession, received: Received, interchange: Interchange) -> Outcome:
    """Stage one event per set, or none: a set naming no trace number or no payer, or too
    large to publish, sends the whole file to review (nothing of it is published), with the
    set's ST02 and position."""
    sets = interchange.transactions
    events: list[Event] = []
    for transaction in sets:
        found = domain.facts(transaction)
        payer = domain.payer_id(found, received.partner)
        where = {"control_number": transaction.control_number, "position": transaction.st.position}
        if not found.trace_number:
            return Outcome.to_review(
                UNREADABLE, "an 835 set has no TRN02 (trace number)", segment="TRN", **where
            )
        if not payer or not _ID.match(payer):
            return Outcome.to_review(
                UNREADABLE,
                "no payer id: N1*PR N104, REF*2U and TRN03 missing, and the partner has no default",
                segment="N1",
                **where,
            )
        text = received.content if len(sets) == 1 else x12.enveloped(interchange, transaction)
        event = new_event(
            RemittanceReceived(
                trace_number=found.trace_number[:50],
                payer_id=payer,
                x12_835=text,
                received_at=received.received_at,
                file_id=received.id,
                partner_id=received.partner_id,
            )
        )
        size = len(payload_bytes(event))
        if size > X12_EVENT_MAX_BYTES:
            return Outcome.to_review(
                TOO_LARGE,
                f"an 835 set makes a {size}-byte event; Kafka takes up to {X12_EVENT_MAX_BYTES}"
                " (ask the payer to split the payment's remittance)",
                segment="ST",
                **where,
            )
        events.append(event)
    await add_events(session, events)
    return Outcome(counts={"sets": len(sets)})
