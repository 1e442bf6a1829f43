"""What the contracts API does: load a payer's fee schedule (and tell eligibility, which
estimates with it), and list the underpayments the posting found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.contracts import store
from shared.events import new_event
from shared.events.catalogue import FeeScheduleEntry, FeeScheduleUpdated
from shared.outbox import add_event
from shared.paging import DateRange, PageQuery


async def load_fee_schedule(
    session: AsyncSession,
    payer_id: str,
    entries: Sequence[FeeScheduleEntry],
    *,
    effective: date,
    actor: str,
) -> uuid.UUID:
    """Store a new schedule (the newest effective one applies) and publish
    `fee_schedule.updated`, in one transaction; returns its id."""
    schedule_id = uuid.uuid4()
    async with session.begin():
        await store.insert_fee_schedule(
            session, schedule_id, payer_id, effective, entries, actor=actor, now=datetime.now(UTC)
        )
        add_event(
            session,
            new_event(
                FeeScheduleUpdated(
                    payer_id=payer_id,
                    fee_schedule_id=schedule_id,
                    effective_date=effective,
                    entries=list(entries),
                )
            ),
        )
    return schedule_id


async def list_underpayments(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    payer_id: str | None,
    claim_id: uuid.UUID | None,
) -> tuple[Sequence[Any], str | None]:
    """One page of the lines paid below contract, newest first."""
    return await store.list_underpayments(session, page, dates, payer_id=payer_id, claim_id=claim_id)
