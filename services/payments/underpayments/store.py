"""All of the underpayments' SQL: rows found while posting (one statement for a poll), the
standing ones of the claims being posted, a row locked for a transition, the history, the
work queue and the per-payer report."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.contracts.tables import fee_schedules
from services.payments.underpayments.domain import STANDING, Standing
from services.payments.underpayments.tables import underpayment_transitions, underpayments
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate


async def insert_underpayments(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """The underpayments a poll's postings found, with one INSERT."""
    await insert_many(session, underpayments, rows)


async def insert_transitions(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """History rows (the table is append-only), with one INSERT."""
    await insert_many(session, underpayment_transitions, rows)


async def standing(session: AsyncSession, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Standing]]:
    """The open and disputed underpayments of these claims, oldest first, locked: a posting
    that recovers one changes it in the same transaction."""
    if not claim_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT id, claim_id, status, code, modifier, actual_allowed, variance FROM underpayments "
            "WHERE claim_id = ANY(:c) AND status = ANY(:s) ORDER BY detected_at, id FOR UPDATE"
        ),
        {"c": list(set(claim_ids)), "s": list(STANDING)},
    )
    found: dict[uuid.UUID, list[Standing]] = {}
    for r in rows:
        found.setdefault(r.claim_id, []).append(
            Standing(r.id, r.status, r.code, r.modifier, Decimal(r.actual_allowed), Decimal(r.variance))
        )
    return found


async def recover_many(
    session: AsyncSession, recovered: Sequence[tuple[uuid.UUID, Decimal, datetime]]
) -> None:
    """Mark underpayments recovered by postings: (id, amount recovered, when)."""
    if recovered:
        await session.execute(
            text(
                "UPDATE underpayments SET status = 'recovered', recovered_amount = :a, updated_at = :at "
                "WHERE id = :id"
            ),
            [{"id": i, "a": a, "at": at} for i, a, at in recovered],
        )


async def lock(session: AsyncSession, underpayment_id: uuid.UUID) -> Any:
    """One underpayment, locked for a transition; None when there is no such row."""
    return (
        await session.execute(
            text("SELECT * FROM underpayments WHERE id = :id FOR UPDATE"), {"id": underpayment_id}
        )
    ).first()


async def get(session: AsyncSession, underpayment_id: uuid.UUID) -> Any:
    """One underpayment with the version number it was compared with, or None."""
    return (
        await session.execute(
            text(
                "SELECT u.*, f.version AS fee_schedule_version FROM underpayments u "
                "LEFT JOIN fee_schedules f ON f.id = u.fee_schedule_id WHERE u.id = :id"
            ),
            {"id": underpayment_id},
        )
    ).first()


async def update(session: AsyncSession, underpayment_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """Set a transition's columns (status and what the step said) on one underpayment."""
    columns = ", ".join(f"{name} = :{name}" for name in changes)
    await session.execute(
        text(f"UPDATE underpayments SET {columns} WHERE id = :id"),  # noqa: S608 (our column names)
        {**changes, "id": underpayment_id},
    )


async def history(session: AsyncSession, underpayment_id: uuid.UUID) -> Sequence[Any]:
    """An underpayment's transitions, in order."""
    rows = await session.execute(
        text("SELECT * FROM underpayment_transitions WHERE underpayment_id = :id ORDER BY id"),
        {"id": underpayment_id},
    )
    return rows.all()


async def list_underpayments(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    payer_id: str | None,
    claim_id: uuid.UUID | None,
    status: str | None,
) -> tuple[Sequence[Any], str | None]:
    """One page of underpayments, filtered; oldest first when listing a status (a work queue
    is worked in the order work arrived), else newest first."""
    t = underpayments.c
    stmt = select(*underpayments.c, _version_column())
    if payer_id is not None:
        stmt = stmt.where(t.payer_id == payer_id)
    if claim_id is not None:
        stmt = stmt.where(t.claim_id == claim_id)
    if status is not None:
        stmt = stmt.where(t.status == status)
    stmt = dates.apply(stmt, t.detected_at)
    return await paginate(
        session,
        stmt,
        page,
        t.detected_at,
        t.id,
        key=lambda r: (r.detected_at, r.id),
        oldest_first=status is not None,
    )


def _version_column() -> Any:
    """The version number of the fee schedule a row was compared with (a scalar subquery)."""
    return (
        select(fee_schedules.c.version)
        .where(fee_schedules.c.id == underpayments.c.fee_schedule_id)
        .scalar_subquery()
        .label("fee_schedule_version")
    )


async def report(session: AsyncSession, dates: DateRange, payer_id: str | None) -> Sequence[Any]:
    """Per payer and status: how many, the variance, what was recovered and accepted."""
    t = underpayments.c
    stmt = select(
        t.payer_id,
        t.status,
        func.count().label("count"),
        func.coalesce(func.sum(t.variance), 0).label("variance"),
        func.coalesce(func.sum(t.recovered_amount), 0).label("recovered"),
        func.coalesce(func.sum(t.accepted_amount), 0).label("accepted"),
    ).group_by(t.payer_id, t.status)
    if payer_id is not None:
        stmt = stmt.where(t.payer_id == payer_id)
    stmt = dates.apply(stmt, t.detected_at).order_by(t.payer_id, t.status)
    return (await session.execute(stmt)).all()
