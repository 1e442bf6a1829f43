"""What payers and clearinghouses said about sent claims, through the gateway: 277 X212 status
answers (`claim.status_reported`) and file acknowledgments (`submission_file.acknowledged`).
Each is recorded once (the consumer's inbox, and UNIQUE(event_id, claim_id) below it)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.followups import usecases
from shared.consumer import Batched, batched
from shared.events import Event


async def on_status_reported(session: AsyncSession, events: Sequence[Event]) -> None:
    """Payers' 277 answers: recorded, and the status move they allow."""
    await usecases.record_status_reports(session, events)


async def on_files_acknowledged(session: AsyncSession, events: Sequence[Event]) -> None:
    """TA1/999 answers to our files: recorded in each named claim's answers and history."""
    await usecases.record_file_acks(session, events)


HANDLERS: dict[str, Batched] = {
    "claim.status_reported": batched(on_status_reported),
    "submission_file.acknowledged": batched(on_files_acknowledged),
}
