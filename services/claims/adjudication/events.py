"""Payers' answers to sent claims: 277CA acknowledgments and rejections from the clearinghouse,
and adjudications as payment.posted (payments reads the 835). Each takes a poll at once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.adjudication import usecases
from shared.consumer import Batched, batched
from shared.events import Event


async def on_claims_acknowledged(session: AsyncSession, events: Sequence[Event]) -> None:
    """Submitted claims the payer accepted (277CA)."""
    await usecases.accept_claims(session, events)


async def on_claims_rejected(session: AsyncSession, events: Sequence[Event]) -> None:
    """Claims the payer's front end rejected (277CA)."""
    await usecases.reject_claims(session, events)


async def on_payments_posted(session: AsyncSession, events: Sequence[Event]) -> None:
    """Insurers' adjudications applied to their claims."""
    await usecases.apply_payments(session, events)


# Keyed by topic (service.py subscribes the consumer to these).
HANDLERS: dict[str, Batched] = {
    "claim.acknowledged": batched(on_claims_acknowledged),
    "claim.rejected": batched(on_claims_rejected),
    "payment.posted": batched(on_payments_posted),
}
