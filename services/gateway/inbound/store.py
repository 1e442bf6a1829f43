"""All of the inbound SQL: received files (kept before anything acts on them) and the review
queue."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.inbound.tables import received_files

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
