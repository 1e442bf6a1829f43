"""What the contracts API does: add a version of a payer's fee schedule (and tell
eligibility, which estimates with it), list the versions, show one, and say which one is in
effect on a date of service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.contracts import store
from services.payments.contracts.domain import FeeVersion, in_effect
from services.payments.contracts.schemas import FeeScheduleOut, FeeScheduleVersionOut, Rate
from shared.events import new_event
from shared.events.catalogue import FeeScheduleEntry, FeeScheduleUpdated
from shared.outbox import add_event
from shared.paging import PageQuery


def version_out(row: Any) -> FeeScheduleOut:
    """A stored version as the API shows it."""
    return FeeScheduleOut(
        fee_schedule_id=row.id,
        payer_id=row.payer_id,
        version=row.version,
        effective_date=row.effective_date,
        uploaded_at=row.loaded_at,
        uploaded_by=row.loaded_by,
        entries=row.entries,
    )


async def load_fee_schedule(
    session: AsyncSession,
    payer_id: str,
    entries: Sequence[FeeScheduleEntry],
    *,
    effective: date,
    actor: str,
) -> FeeScheduleOut:
    """Add a version of the payer's schedule (the payer's next number; earlier versions stay
    and keep applying to the dates of service before this one's effective date) and publish
    `fee_schedule.updated`, in one transaction."""
    async with session.begin():
        number = await store.next_version(session, payer_id)
        version = FeeVersion(uuid.uuid4(), payer_id, number, effective, datetime.now(UTC))
        await store.insert_fee_schedule(session, version, entries, actor=actor)
        add_event(
            session,
            new_event(
                FeeScheduleUpdated(
                    payer_id=payer_id,
                    fee_schedule_id=version.id,
                    effective_date=effective,
                    entries=list(entries),
                    version=number,
                    uploaded_at=version.uploaded_at,
                )
            ),
        )
    return FeeScheduleOut(
        fee_schedule_id=version.id,
        payer_id=payer_id,
        version=number,
        effective_date=effective,
        uploaded_at=version.uploaded_at,
        uploaded_by=actor,
        entries=len(entries),
    )


async def list_versions(
    session: AsyncSession, payer_id: str, page: PageQuery
) -> tuple[list[FeeScheduleOut], str | None]:
    """One page of the payer's versions, newest upload first."""
    rows, cursor = await store.list_versions(session, payer_id, page)
    return [version_out(r) for r in rows], cursor


async def get_version(session: AsyncSession, payer_id: str, number: int) -> FeeScheduleVersionOut | None:
    """One version with its rates, or None."""
    row = await store.version(session, payer_id, number)
    if row is None:
        return None
    rates = [
        Rate(code=r.code, modifier=r.modifier or None, allowed=r.allowed)
        for r in await store.rates(session, row.id)
    ]
    return FeeScheduleVersionOut(**version_out(row).model_dump(), rates=rates)


async def version_in_effect(session: AsyncSession, payer_id: str, on: date) -> FeeScheduleVersionOut | None:
    """The version the posting compares a line given on `on` with, or None."""
    chosen = in_effect(await store.versions(session, payer_id), on)
    return None if chosen is None else await get_version(session, payer_id, chosen.version)
