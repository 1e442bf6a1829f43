"""The claims service says a claim is past its payer's window (`claim.followup_due`): an
inquiry is made (once per claim and due moment) for the sender worker to ask the payer."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.claimstatus import usecases
from shared.consumer import Handler
from shared.events import Event
from shared.events.catalogue import ClaimFollowupDue


async def on_followup_due(session: AsyncSession, event: Event) -> None:
    """An inquiry about the overdue claim (a redelivered event finds it made already)."""
    due = event.data
    assert isinstance(due, ClaimFollowupDue)
    await usecases.inquire(session, due.claim_id, due.due_at, "claim.followup_due")


HANDLERS: dict[str, Handler] = {"claim.followup_due": on_followup_due}
