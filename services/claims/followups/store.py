"""The follow-up's SQL: unanswered claims past their payer's window, for the worker (taken with
SKIP LOCKED, so replicas share the work) and for the list a person works from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, func, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.claims.claims.tables import Claim
from services.claims.followups.domain import DEFAULT_WINDOW_DAYS, WAITING, windows
from services.claims.followups.tables import status_answers
from shared.due import claim_due
from shared.stuckwork import count_and_oldest


def _overdue(now: datetime | Any) -> ColumnElement[bool]:
    """Waiting claims whose payer's window (in whole days, as seconds) has passed at `now`,
    counted from the submission or the payer's last P/F answer, whichever is later."""
    days: Any = literal(DEFAULT_WINDOW_DAYS)
    if by_payer := windows():
        days = case(by_payer, value=col(Claim.payer_id), else_=DEFAULT_WINDOW_DAYS)
    window = func.make_interval(0, 0, 0, 0, 0, 0, days * 86400)
    return and_(
        col(Claim.status).in_(WAITING),
        col(Claim.submitted_at).is_not(None),
        func.greatest(col(Claim.submitted_at), col(Claim.followup_from)) + window <= now,
    )


async def take_due(session: AsyncSession, now: datetime, limit: int) -> Sequence[Row[Any]]:
    """Overdue claims not announced since their last submission, marked announced at `now` in
    the same statement; (id, payer_id, submitted_at, followup_from) each, oldest submission
    first."""
    return await claim_due(
        session,
        Claim,
        due=and_(_overdue(now), col(Claim.followup_published_at).is_(None)),
        order_by=[col(Claim.submitted_at)],
        limit=limit,
        values={"followup_published_at": now},
        returning=[col(Claim.id), col(Claim.payer_id), col(Claim.submitted_at), col(Claim.followup_from)],
    )


def overdue_statement(now: datetime, payer_id: str | None) -> SelectOfScalar[Claim]:
    """Overdue claims at `now` (of one payer, if given); paging is the caller's."""
    stmt = select(Claim).where(_overdue(now))
    return stmt.where(Claim.payer_id == payer_id) if payer_id else stmt


async def unanswered_since(session: AsyncSession, hours: float) -> tuple[int, float | None]:
    """Claims still `submitted` (no 277CA) more than `hours` after they were sent: how many,
    and seconds since the oldest was sent."""
    since = func.clock_timestamp() - func.make_interval(0, 0, 0, 0, 0, 0, hours * 3600)
    return await count_and_oldest(
        session,
        Claim,
        col(Claim.submitted_at),
        col(Claim.status) == "submitted",
        col(Claim.submitted_at) < since,
    )


async def accepted_overdue(session: AsyncSession) -> tuple[int, float | None]:
    """Claims `accepted` by the payer (277CA) and still without an 835 past their payer's
    follow-up window: how many, and seconds since the oldest was sent."""
    return await count_and_oldest(
        session,
        Claim,
        col(Claim.submitted_at),
        col(Claim.status) == "accepted",
        _overdue(func.clock_timestamp()),
    )


async def insert_answers(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[tuple[Any, Any]]:
    """Store answers; one already stored (the same event about the same claim, delivered
    again) is skipped. Returns the (event_id, claim_id) pairs that were new."""
    if not rows:
        return set()
    if session.new or session.dirty or session.deleted:
        await session.flush()
    stmt = (
        pg_insert(status_answers)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["event_id", "claim_id"])
        .returning(status_answers.c.event_id, status_answers.c.claim_id)
    )
    return {(r.event_id, r.claim_id) for r in (await session.execute(stmt)).all()}


async def answers_of(session: AsyncSession, claim_id: Any) -> Sequence[Row[Any]]:
    """A claim's status answers, oldest first."""
    stmt = (
        select(status_answers)
        .where(status_answers.c.claim_id == claim_id)
        .order_by(status_answers.c.received_at, status_answers.c.recorded_at)
    )
    return (await session.execute(stmt)).all()  # type: ignore[call-overload]


async def statuses_of(session: AsyncSession, claim_ids: Sequence[Any]) -> dict[Any, str]:
    """Each claim's current status (for history rows that record without moving)."""
    stmt = select(col(Claim.id), col(Claim.status)).where(col(Claim.id).in_(list(set(claim_ids))))
    return {r[0]: r[1] for r in (await session.execute(stmt)).all()}
