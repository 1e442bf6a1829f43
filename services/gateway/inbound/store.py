"""All of the inbound SQL: received files (kept before anything acts on them) and the review
queue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.inbound.tables import received_files, review_queue
from shared.due import claim_due
from shared.paging import DateRange, PageQuery, paginate
from shared.stuckwork import count_and_oldest

_KEEP = text(
    """
    INSERT INTO received_files
        (id, partner_id, source, remote_name, sha256, content, received_at, actor, state)
    VALUES (:id, :partner_id, :source, :remote_name, :sha256, :content, :received_at, :actor,
            CASE WHEN EXISTS (SELECT 1 FROM received_files WHERE sha256 = :sha256)
                 THEN 'duplicate' ELSE 'received' END)
    ON CONFLICT (coalesce(partner_id, ''), remote_name, sha256) DO NOTHING
    RETURNING id, state
    """
)


async def keep_file(session: AsyncSession, values: dict[str, Any]) -> tuple[uuid.UUID, str, bool]:
    """Insert a received file unless this partner's file of that name and content is kept
    already. Returns (its id, its state, whether it is new). The same content under another
    name (a clearinghouse re-sending, a hand upload of a polled file) is kept as `duplicate`,
    so nothing acts on it twice but the receipt is on record."""
    row = (await session.execute(_KEEP, values)).first()
    if row is not None:
        return row.id, row.state, True
    found = (
        await session.execute(
            select(received_files.c.id, received_files.c.state).where(
                received_files.c.partner_id.is_not_distinct_from(values["partner_id"]),
                received_files.c.remote_name == values["remote_name"],
                received_files.c.sha256 == values["sha256"],
            )
        )
    ).one()
    return found.id, found.state, False


async def file_by_id(session: AsyncSession, file_id: uuid.UUID) -> Any:
    """One received file's row (None when unknown)."""
    return (await session.execute(select(received_files).where(received_files.c.id == file_id))).first()


async def take_due(session: AsyncSession, limit: int, lease_seconds: float) -> list[uuid.UUID]:
    """Lease up to `limit` received files nobody processed yet, oldest first (a replica that
    dies mid-file lets its lease run out; another takes the file then)."""
    rf = received_files.c
    rows = await claim_due(
        session,
        received_files,
        due=(rf.state == "received") & (rf.retry_at.is_(None) | (rf.retry_at <= func.clock_timestamp())),
        order_by=[rf.received_at, rf.id],
        limit=limit,
        lease=(rf.retry_at, lease_seconds),
        returning=[rf.id, rf.received_at],
    )
    return [r.id for r in rows]


async def lock_received(session: AsyncSession, file_id: uuid.UUID) -> Any:
    """The file's row, locked, while it is still `received` (None once another took it)."""
    stmt = (
        select(received_files)
        .where(received_files.c.id == file_id, received_files.c.state == "received")
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(stmt)).first()


async def finish(session: AsyncSession, file_id: uuid.UUID, **values: Any) -> None:
    """Record what processing came to (kind, state, errors, counts, processed_at)."""
    await session.execute(update(received_files).where(received_files.c.id == file_id).values(**values))


async def add_review(
    session: AsyncSession, file_id: uuid.UUID, reason: str, detail: dict[str, Any], at: Any
) -> None:
    await session.execute(
        insert(review_queue).values(
            id=uuid.uuid4(), file_id=file_id, reason=reason, detail=detail, created_at=at
        )
    )


def files_query(dates: DateRange, state: str | None, kind: str | None) -> Any:
    """Received files (without their content) in a date range, by state and kind."""
    columns = [c for c in received_files.c if c.key != "content"]
    stmt = select(*columns, received_files.c.received_at.label("created_at"))
    if state:
        stmt = stmt.where(received_files.c.state == state)
    if kind:
        stmt = stmt.where(received_files.c.kind == kind)
    return dates.apply(stmt, received_files.c.received_at)


async def list_files(
    session: AsyncSession, page: PageQuery, dates: DateRange, state: str | None, kind: str | None
) -> tuple[Sequence[Any], str | None]:
    return await paginate(
        session, files_query(dates, state, kind), page, received_files.c.received_at, received_files.c.id
    )


async def reviews_of(session: AsyncSession, file_id: uuid.UUID) -> Sequence[Any]:
    stmt = select(review_queue).where(review_queue.c.file_id == file_id).order_by(review_queue.c.created_at)
    return (await session.execute(stmt)).all()


async def list_review(
    session: AsyncSession, page: PageQuery, resolved: bool, reason: str | None
) -> tuple[Sequence[Any], str | None]:
    """The review queue, newest first: open items, or resolved ones."""
    rq = review_queue.c
    stmt = select(
        review_queue, received_files.c.partner_id, received_files.c.remote_name, received_files.c.kind
    )
    stmt = stmt.join(received_files, received_files.c.id == rq.file_id)
    stmt = stmt.where(rq.resolution.is_not(None) if resolved else rq.resolution.is_(None))
    if reason:
        stmt = stmt.where(rq.reason == reason)
    return await paginate(session, stmt, page, rq.created_at, rq.id)


async def review_item(session: AsyncSession, review_id: uuid.UUID) -> Any:
    """A review item, locked (two people resolving it at once: the second sees it resolved)."""
    stmt = select(review_queue).where(review_queue.c.id == review_id).with_for_update()
    return (await session.execute(stmt)).first()


async def resolve(session: AsyncSession, review_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(review_queue).where(review_queue.c.id == review_id).values(**values))


async def unprocessed_count(session: AsyncSession) -> tuple[int, float | None]:
    """Files kept but not processed yet (the worker is behind, or a file keeps failing)."""
    rf = received_files.c
    return await count_and_oldest(session, received_files, rf.received_at, rf.state == "received")


async def open_review_count(session: AsyncSession) -> tuple[int, float | None]:
    """Review items nobody resolved yet."""
    rq = review_queue.c
    return await count_and_oldest(session, review_queue, rq.created_at, rq.resolution.is_(None))
