"""All of the contracts' SQL: fee schedules in, the current one per payer out, and the
underpayments found while posting."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.contracts.domain import FeeSchedule
from services.payments.contracts.tables import fee_schedule_entries, fee_schedules, underpayments
from shared.bulk import insert_many
from shared.events.catalogue import FeeScheduleEntry
from shared.paging import DateRange, PageQuery, paginate

# Each payer's newest effective schedule (DISTINCT ON over the (payer, effective, loaded)
# index), and its entries.
_CURRENT = text(
    "WITH s AS (SELECT DISTINCT ON (payer_id) id, payer_id FROM fee_schedules "
    "WHERE payer_id = ANY(:p) AND effective_date <= current_date "
    "ORDER BY payer_id, effective_date DESC, loaded_at DESC) "
    "SELECT s.payer_id, e.code, e.modifier, e.allowed FROM s "
    "JOIN fee_schedule_entries e ON e.fee_schedule_id = s.id"
)


async def current_fee_schedules(session: AsyncSession, payer_ids: Sequence[str]) -> dict[str, FeeSchedule]:
    """Each payer's newest effective fee schedule as {(code, modifier): allowed}, with one
    query for all (a poll's remittances); payers without a schedule are absent."""
    if not payer_ids:
        return {}
    fees: dict[str, FeeSchedule] = {}
    for r in await session.execute(_CURRENT, {"p": list(payer_ids)}):
        fees.setdefault(r.payer_id, {})[r.code, r.modifier] = r.allowed
    return fees


async def insert_fee_schedule(
    session: AsyncSession,
    schedule_id: uuid.UUID,
    payer_id: str,
    effective: date,
    entries: Sequence[FeeScheduleEntry],
    *,
    actor: str,
    now: datetime,
) -> None:
    """A loaded schedule and its entries (it applies from `effective`; older ones stay)."""
    await insert_many(
        session,
        fee_schedules,
        [
            {
                "id": schedule_id,
                "payer_id": payer_id,
                "effective_date": effective,
                "loaded_by": actor,
                "loaded_at": now,
            }
        ],
    )
    await insert_many(
        session,
        fee_schedule_entries,
        [
            {
                "fee_schedule_id": schedule_id,
                "code": e.code,
                "modifier": e.modifier or "",
                "allowed": e.allowed,
            }
            for e in entries
        ],
    )


async def insert_underpayments(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """The underpayments a poll's postings found, with one INSERT."""
    await insert_many(session, underpayments, rows)


async def list_underpayments(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    payer_id: str | None,
    claim_id: uuid.UUID | None,
) -> tuple[Sequence[Any], str | None]:
    """One page of underpayments, newest first, filtered."""
    t = underpayments.c
    stmt = select(underpayments)
    if payer_id is not None:
        stmt = stmt.where(t.payer_id == payer_id)
    if claim_id is not None:
        stmt = stmt.where(t.claim_id == claim_id)
    if dates.date_from:
        stmt = stmt.where(t.detected_at >= datetime.combine(dates.date_from, time.min, UTC))
    if dates.date_to:
        stmt = stmt.where(t.detected_at < datetime.combine(dates.date_to + timedelta(days=1), time.min, UTC))
    return await paginate(session, stmt, page, t.detected_at, t.id, key=lambda r: (r.detected_at, r.id))
