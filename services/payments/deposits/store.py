"""All of the bank deposits' SQL: files as received, their outcome, and their deposits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.deposits.tables import bank_deposit_files, bank_deposits
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate

f, d = bank_deposit_files.c, bank_deposits.c


async def keep_file(session: AsyncSession, values: dict[str, Any]) -> Row[Any]:
    """Insert the file unless the same bytes (sha256) came before; the stored row either way."""
    await session.execute(insert(bank_deposit_files).values(**values).on_conflict_do_nothing())
    return (await session.execute(select(bank_deposit_files).where(f.sha256 == values["sha256"]))).one()


async def lock_file(session: AsyncSession, file_id: uuid.UUID) -> Row[Any]:
    return (await session.execute(select(bank_deposit_files).where(f.id == file_id).with_for_update())).one()


async def file(session: AsyncSession, file_id: uuid.UUID) -> Row[Any] | None:
    return (await session.execute(select(bank_deposit_files).where(f.id == file_id))).first()


async def set_outcome(session: AsyncSession, file_id: uuid.UUID, **values: Any) -> None:
    """Record what became of a file (status, errors, counts, imported_at)."""
    await session.execute(bank_deposit_files.update().where(f.id == file_id).values(**values))


async def insert_deposits(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert deposits, skipping those whose bank reference an earlier file brought (the
    unique bank reference per account and day); the ids of those inserted."""
    inserted = await insert_many(session, bank_deposits, rows, on_conflict=[], returning=["id"])
    return [r.id for r in inserted]


async def deposits_of(session: AsyncSession, file_id: uuid.UUID) -> Sequence[Row[Any]]:
    """A file's deposits, in file order."""
    stmt = select(bank_deposits).where(d.file_id == file_id).order_by(d.record)
    return (await session.execute(stmt)).all()


async def deposit(session: AsyncSession, deposit_id: uuid.UUID) -> Row[Any] | None:
    return (await session.execute(select(bank_deposits).where(d.id == deposit_id))).first()


async def list_files(
    session: AsyncSession, page: PageQuery, dates: DateRange, status: str | None
) -> tuple[Sequence[Any], str | None]:
    """One page of the files received (dates: the day received, UTC), newest first, without
    their content."""
    columns = [c for c in bank_deposit_files.c if c.name != "content"]
    stmt = dates.apply(select(*columns), f.received_at)
    if status is not None:
        stmt = stmt.where(f.status == status)
    return await paginate(session, stmt, page, f.received_at, f.id, key=lambda r: (r.received_at, r.id))
