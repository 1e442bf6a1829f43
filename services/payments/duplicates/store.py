"""All of the possible-duplicate queue's SQL: parked claims in (one statement per poll), the
queue with both remittances of each item, locking one for its resolution, the money each
remittance parks here, and the queue's size and age (stuck work)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.duplicates.tables import possible_duplicates
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate
from shared.stuckwork import count_and_oldest

# Each item with the original posting and both remittances (trace, payment date, received).
_SIDE_BY_SIDE = (
    "SELECT d.*, p.remittance_id AS original_remittance_id, p.status_code AS original_status_code, "
    "p.charge AS original_charge, p.paid AS original_paid, p.patient_responsibility AS original_pr, "
    "p.adjustments AS original_adjustments, p.posted_at AS original_posted_at, "
    "ro.trace_number AS original_trace_number, ro.paid_date AS original_paid_date, "
    "ro.received_at AS original_received_at, rd.trace_number AS duplicate_trace_number, "
    "rd.paid_date AS duplicate_paid_date, rd.received_at AS duplicate_received_at "
    "FROM possible_duplicates d JOIN claim_postings p ON p.id = d.original_posting_id "
    "JOIN remittances ro ON ro.id = p.remittance_id JOIN remittances rd ON rd.id = d.remittance_id "
)


async def insert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """A poll's possible duplicates, with one INSERT."""
    await insert_many(session, possible_duplicates, rows)


async def side_by_side(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Items with their original posting and both remittances, by id."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = await session.execute(text(_SIDE_BY_SIDE + "WHERE d.id = ANY(:ids)"), {"ids": wanted})
    return {r.id: r for r in rows}


async def lock(session: AsyncSession, item_id: uuid.UUID) -> Any:
    """One item with its remittance's trace number, method and payment date, locked for its
    resolution (two staff resolving it at once take turns); None when there is none."""
    return (
        await session.execute(
            text(
                "SELECT d.*, r.trace_number, r.method, r.paid_date FROM possible_duplicates d "
                "JOIN remittances r ON r.id = d.remittance_id WHERE d.id = :id FOR UPDATE OF d"
            ),
            {"id": item_id},
        )
    ).first()


async def resolve(session: AsyncSession, item_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Close an open item (status, who, when, why, and what it produced)."""
    await session.execute(
        possible_duplicates.update()
        .where(possible_duplicates.c.id == item_id, possible_duplicates.c.status == "open")
        .values(**values)
    )


async def record_refund(session: AsyncSession, item_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(
        possible_duplicates.update().where(possible_duplicates.c.id == item_id).values(**values)
    )


async def page(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    status: str | None,
    payer_id: str | None,
    remittance_id: uuid.UUID | None,
    claim_id: uuid.UUID | None,
) -> tuple[Sequence[Any], str | None]:
    """One page of the queue, oldest first (the order it is worked in), filtered."""
    t = possible_duplicates.c
    stmt = select(t.id, t.created_at)
    for column, value in ((t.status, status), (t.payer_id, payer_id), (t.remittance_id, remittance_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if claim_id is not None:
        stmt = stmt.where(t.claim_id == claim_id)
    stmt = dates.apply(stmt, t.created_at)
    return await paginate(session, stmt, page, t.created_at, t.id, oldest_first=True)


async def money_of(session: AsyncSession, remittance_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Per remittance, what its claims park here: `open` (possible duplicates), `payer_credit`
    (paid twice: owed back to the payer) and `no_money` (dismissed: the money came once).
    What was posted after all is the posting's money, not this queue's."""
    if not remittance_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT remittance_id, coalesce(sum(paid) FILTER (WHERE status = 'open'), 0) AS open, "
            "coalesce(sum(paid) FILTER (WHERE status = 'payer_paid_twice'), 0) AS payer_credit, "
            "coalesce(sum(paid) FILTER (WHERE status = 'no_money'), 0) AS no_money "
            "FROM possible_duplicates WHERE remittance_id = ANY(:ids) GROUP BY remittance_id"
        ),
        {"ids": list(remittance_ids)},
    )
    return {r.remittance_id: r for r in rows}


async def open_total(session: AsyncSession, remittance_id: uuid.UUID) -> Decimal:
    """What a remittance's claims still park as possible duplicates."""
    value = await session.scalar(
        select(func.coalesce(func.sum(possible_duplicates.c.paid), 0)).where(
            possible_duplicates.c.remittance_id == remittance_id, possible_duplicates.c.status == "open"
        )
    )
    return Decimal(value)


async def open_duplicates(session: AsyncSession) -> tuple[int, float | None]:
    """The queue's size for the `payments:possible-duplicates` stuck-work probe: possible
    duplicates waiting for a person, and seconds since the oldest was parked (the partial
    index `possible_duplicates_open` answers it)."""
    c = possible_duplicates.c
    return await count_and_oldest(session, possible_duplicates, c.created_at, c.status == "open")
