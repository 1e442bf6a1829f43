"""`remittance.received`: a partner's 835, posted exactly like an upload."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.remittances.usecases import Incoming, receive_many
from shared.consumer import PermanentError
from shared.events import Event
from shared.events.catalogue import RemittanceReceived
from shared.x12 import X12Error


async def on_remittance_received(session: AsyncSession, event: Event) -> None:
    """One 835, handled as the batched handler handles it (tests and tools; the service
    registers the batched handler). A file that cannot be posted goes to the dead-letter topic
    with the located reason (no data)."""
    await on_remittances_received(session, [event])


async def on_remittances_received(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's 835s, posted together with a few statements for all (`receive_many`), each
    as if it came alone. One that cannot be posted fails the batch before anything is
    written; the consumer then replays the poll event by event, so the good ones post and
    that one goes to the dead-letter topic with the located reason (no data). No savepoint:
    a failure rolls back the consumer's whole transaction anyway."""
    files = []
    for event in events:
        remittance = event.data
        assert isinstance(remittance, RemittanceReceived)
        files.append(
            Incoming(
                remittance.x12_835,
                source="kafka",
                actor=f"event:{event.source}"[:200],
                payer_id=remittance.payer_id,
                event=event,
            )
        )
    try:
        await receive_many(session, files)
    except X12Error as exc:
        raise PermanentError(f"invalid 835: {exc}") from None
