"""All of the claim-status SQL: inquiries (made once per claim and due moment, taken by the
sender with a lease), the claim's stored 837 they are written from, and the answer's file."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.claimstatus.tables import status_inquiries
from services.gateway.outbound.tables import outbound_claims
from shared.due import claim_due


async def add_inquiry(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """A new inquiry, unless one for this claim and due moment exists (a redelivered
    `claim.followup_due`): returns its id when new."""
    stmt = (
        pg_insert(status_inquiries)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["claim_id", "due_at"])
        .returning(status_inquiries.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_claim(session: AsyncSession, claim_id: uuid.UUID) -> Row[Any] | None:
    """The claim's latest 837 we hold (its newest claim.submitted), with its partner."""
    stmt = (
        select(outbound_claims)
        .where(outbound_claims.c.claim_id == claim_id)
        .order_by(outbound_claims.c.received_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).first()


async def claim_by_pcn(session: AsyncSession, pcn: str, partner_id: str | None) -> Row[Any] | None:
    """The latest claim of this patient control number (of this partner when known)."""
    stmt = select(outbound_claims.c.claim_id, outbound_claims.c.payer_id).where(
        outbound_claims.c.patient_control_number == pcn
    )
    if partner_id:
        stmt = stmt.where(outbound_claims.c.partner_id == partner_id)
    return (await session.execute(stmt.order_by(outbound_claims.c.received_at.desc()).limit(1))).first()


async def take_due(session: AsyncSession, limit: int, lease_seconds: float) -> Sequence[Row[Any]]:
    """Pending inquiries whose time has come, leased to this worker (replicas take others)."""
    return await claim_due(
        session,
        status_inquiries,
        due=and_(
            status_inquiries.c.state == "pending",
            status_inquiries.c.mode.is_distinct_from("batch"),
            or_(status_inquiries.c.next_at.is_(None), status_inquiries.c.next_at <= func.clock_timestamp()),
        ),
        order_by=[status_inquiries.c.created_at],
        limit=limit,
        lease=(status_inquiries.c.next_at, lease_seconds),
        values={"attempts": status_inquiries.c.attempts + 1},
    )


async def get(session: AsyncSession, inquiry_id: uuid.UUID, *, lock: bool = False) -> Row[Any] | None:
    stmt = select(status_inquiries).where(status_inquiries.c.id == inquiry_id)
    return (await session.execute(stmt.with_for_update() if lock else stmt)).first()


async def by_trace(session: AsyncSession, traces: Sequence[str]) -> dict[str, Row[Any]]:
    """Inquiries by the trace numbers a 277 echoes."""
    if not traces:
        return {}
    stmt = select(status_inquiries).where(status_inquiries.c.trace_number.in_(list(set(traces))))
    return {r.trace_number: r for r in (await session.execute(stmt)).all()}


async def set_inquiry(session: AsyncSession, inquiry_id: uuid.UUID, **values: Any) -> None:
    await session.execute(
        update(status_inquiries).where(status_inquiries.c.id == inquiry_id).values(**values)
    )


async def answered(
    session: AsyncSession,
    inquiry_id: uuid.UUID,
    file_id: uuid.UUID,
    answer: list[dict[str, Any]],
    at: datetime,
) -> None:
    """The payer's answer to this inquiry came in `file_id`."""
    await set_inquiry(
        session,
        inquiry_id,
        state="answered",
        answer_file_id=file_id,
        answer=answer,
        answered_at=at,
        next_at=None,
    )


async def inquiries_of(session: AsyncSession, claim_id: uuid.UUID, limit: int = 50) -> Sequence[Row[Any]]:
    """A claim's inquiries, newest first."""
    stmt = (
        select(status_inquiries)
        .where(status_inquiries.c.claim_id == claim_id)
        .order_by(status_inquiries.c.created_at.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).all()


async def take_batch(session: AsyncSession, partner_id: str, limit: int) -> Sequence[Row[Any]]:
    """Inquiries waiting for this partner's next 276 file, locked until the caller commits the
    file with them (replicas skip them meanwhile)."""
    return await claim_due(
        session,
        status_inquiries,
        due=and_(
            status_inquiries.c.state == "pending",
            status_inquiries.c.mode == "batch",
            status_inquiries.c.partner_id == partner_id,
        ),
        order_by=[status_inquiries.c.created_at],
        limit=limit,
    )


async def filed(session: AsyncSession, ids: Sequence[uuid.UUID], file_id: uuid.UUID, at: datetime) -> None:
    """These inquiries went out in the 276 file `file_id`."""
    await session.execute(
        update(status_inquiries)
        .where(status_inquiries.c.id.in_(list(ids)))
        .values(state="sent", file_id=file_id, sent_at=at, next_at=None)
    )
