"""`remittance.received`: a partner's 835, kept and posted exactly like an upload."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.intake.domain import Refused
from services.payments.intake.usecases import Incoming
from services.payments.receipts.usecases import receive_events
from shared.consumer import PermanentError
from shared.events import Event
from shared.events.catalogue import RemittanceReceived


async def on_remittance_received(session: AsyncSession, event: Event) -> None:
    """One 835, handled as the batched handler handles it (tests and tools; the service
    registers the batched handler)."""
    await on_remittances_received(session, [event])


async def on_remittances_received(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's 835s, each kept first, then posted together with a few statements for all,
    each as if it came alone; a broken set is refused on its own and kept with its errors.
    A file nothing can be posted from stays kept as refused and fails the batch before
    anything else is written; the consumer then replays the poll event by event, so the
    good ones post and that one goes to the dead-letter topic with the located reason."""
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
        await receive_events(session, files)
    except Refused as exc:
        raise PermanentError(f"invalid 835, {exc}") from None
