"""All SQL of batches: the `batches` row, and its checks' progress read from `checks`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import RowMapping, text
from sqlmodel.ext.asyncio.session import AsyncSession

_INSERT = text("INSERT INTO batches (id, requested_by, total) VALUES (:id, :by, :total) RETURNING created_at")
_BY_ID = text("SELECT id, total, created_at FROM batches WHERE id = :id")
_COUNTS = text("SELECT state, count(*) FROM checks WHERE batch_id = :id GROUP BY state")
_RESULTS = text(
    "SELECT id, patient_id, payer_id, state, status, result, error, cached_from "
    "FROM checks WHERE batch_id = :id ORDER BY created_at, id"
)


async def insert_batch(session: AsyncSession, batch_id: uuid.UUID, requested_by: str, total: int) -> datetime:
    """The batch row; returns its created_at."""
    params = {"id": batch_id, "by": requested_by, "total": total}
    return (await session.execute(_INSERT, params)).scalar_one()


async def load_batch(session: AsyncSession, batch_id: uuid.UUID) -> RowMapping | None:
    return (await session.execute(_BY_ID, {"id": batch_id})).mappings().one_or_none()


async def state_counts(session: AsyncSession, batch_id: uuid.UUID) -> dict[str, int]:
    """How many of the batch's checks are pending, done and failed."""
    return dict((await session.execute(_COUNTS, {"id": batch_id})).all())  # type: ignore[arg-type]


async def results(session: AsyncSession, batch_id: uuid.UUID) -> list[RowMapping]:
    """The batch's checks in the order they were queued."""
    return list((await session.execute(_RESULTS, {"id": batch_id})).mappings())
