"""`account_hold.placed` / `account_hold.released` from the front office: thin handlers."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.account_holds import usecases
from shared.events import Event
from shared.events.catalogue import AccountHoldPlaced, AccountHoldReleased


async def on_hold_placed(session: AsyncSession, event: Event) -> None:
    hold = event.data
    assert isinstance(hold, AccountHoldPlaced)
    await usecases.place(
        session,
        hold_id=hold.hold_id,
        account_id=hold.account_id,
        reason=hold.reason,
        source_id=hold.source_id,
        holds_statements=hold.holds_statements,
        holds_collections=hold.holds_collections,
        placed_at=hold.placed_at,
    )


async def on_hold_released(session: AsyncSession, event: Event) -> None:
    released = event.data
    assert isinstance(released, AccountHoldReleased)
    await usecases.release(
        session,
        hold_id=released.hold_id,
        account_id=released.account_id,
        reason=released.reason,
        source_id=released.source_id,
        outcome=released.outcome,
        released_at=released.released_at,
    )
