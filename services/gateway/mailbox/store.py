"""All of the mailbox SQL: remote entries, the per-partner poll lock, the partners' state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.mailbox.tables import mailbox_entries, partner_state


async def try_poll_lock(conn: Any, partner_id: str) -> bool:
    """The partner's poll lock on a dedicated connection (held for the whole poll, across its
    per-file commits): replicas never poll one mailbox at once."""
    return bool(
        await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtext('gateway-mailbox'), hashtext($1))", partner_id
        )
    )


async def release_poll_lock(conn: Any, partner_id: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtext('gateway-mailbox'), hashtext($1))", partner_id)


async def entries(session: AsyncSession, partner_id: str) -> dict[str, Any]:
    """The partner's known remote names that were taken or are waiting to be disposed of."""
    rows = (
        await session.execute(select(mailbox_entries).where(mailbox_entries.c.partner_id == partner_id))
    ).all()
    return {row.remote_name: row for row in rows}


async def record_taken(
    session: AsyncSession,
    partner_id: str,
    name: str,
    size: int,
    mtime: float,
    file_id: uuid.UUID,
    now: datetime,
) -> None:
    """The remote name is taken into `file_id` (in the transaction that keeps the file)."""
    values = {"size": size, "mtime": mtime, "last_seen_at": now, "file_id": file_id, "disposed_at": None}
    await session.execute(
        insert(mailbox_entries)
        .values(partner_id=partner_id, remote_name=name, first_seen_at=now, **values)
        .on_conflict_do_update(
            index_elements=[mailbox_entries.c.partner_id, mailbox_entries.c.remote_name], set_=values
        )
    )


async def record_disposed(session: AsyncSession, partner_id: str, name: str, now: datetime) -> None:
    await session.execute(
        update(mailbox_entries)
        .where(mailbox_entries.c.partner_id == partner_id, mailbox_entries.c.remote_name == name)
        .values(disposed_at=now)
    )


async def record_poll(session: AsyncSession, partner_id: str, now: datetime, error: str | None) -> None:
    """The poll's outcome: its time, and the failure kind (None: it worked)."""
    values: dict[str, Any] = {"last_poll_at": now, "last_poll_error": error}
    if error is None:
        values["last_poll_ok_at"] = now
    else:
        values["last_error_at"] = now
    await session.execute(
        insert(partner_state)
        .values(partner_id=partner_id, **values)
        .on_conflict_do_update(index_elements=[partner_state.c.partner_id], set_=values)
    )


async def states(session: AsyncSession) -> dict[str, Any]:
    rows = (await session.execute(select(partner_state))).all()
    return {row.partner_id: row for row in rows}


async def unreachable_age(session: AsyncSession) -> tuple[int, float | None]:
    """Stuck work: partners whose last poll failed (count, seconds since their last good poll
    or first failure)."""
    row = (
        await session.execute(
            text(
                "SELECT count(*), extract(epoch FROM clock_timestamp() - "
                "min(coalesce(last_poll_ok_at, last_error_at))) FROM partner_state "
                "WHERE last_poll_error IS NOT NULL"
            )
        )
    ).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


async def taken_count(session: AsyncSession, partner_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                mailbox_entries.c.partner_id == partner_id, mailbox_entries.c.file_id.is_not(None)
            )
        )
        or 0
    )
