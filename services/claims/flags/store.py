"""All SQL on claim_flags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.claims.flags.tables import ClaimFlag
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate


async def add_flags(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """New flags in one statement; a claim that already has an open flag of the kind keeps
    that one (the partial unique index, ON CONFLICT DO NOTHING)."""
    if rows:
        await insert_many(session, ClaimFlag.__table__, rows, on_conflict=())  # type: ignore[attr-defined]


async def get_flag(session: AsyncSession, flag_id: uuid.UUID, *, lock: bool = False) -> ClaimFlag | None:
    """One flag, locked for update when the caller is about to resolve it."""
    return await session.get(ClaimFlag, flag_id, with_for_update=lock)


async def list_page(
    session: AsyncSession, page: PageQuery, **filters: Any
) -> tuple[Sequence[Any], str | None]:
    """One page of `list_statement(**filters)`, newest first (keyset on created_at, id)."""
    return await paginate(session, list_statement(**filters), page, ClaimFlag.created_at, ClaimFlag.id)


def list_statement(
    *,
    claim_id: uuid.UUID | None = None,
    status: str | None = None,
    kind: str | None = None,
    payer_id: str | None = None,
    dates: DateRange | None = None,
) -> SelectOfScalar[ClaimFlag]:
    """Flags matching the filters given (dates bound when they were raised)."""
    stmt = select(ClaimFlag)
    for column, value in (
        (ClaimFlag.claim_id, claim_id),
        (ClaimFlag.status, status),
        (ClaimFlag.kind, kind),
        (ClaimFlag.payer_id, payer_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return dates.apply(stmt, col(ClaimFlag.created_at)) if dates else stmt


async def open_of(session: AsyncSession, claim_id: uuid.UUID, kind: str) -> ClaimFlag | None:
    """The claim's open flag of this kind, if any."""
    stmt = select(ClaimFlag).where(
        ClaimFlag.claim_id == claim_id, ClaimFlag.kind == kind, ClaimFlag.status == "open"
    )
    return (await session.exec(stmt)).first()


async def close_open(
    session: AsyncSession, claim_id: uuid.UUID, kind: str, status: str, note: str, by: str, at: datetime
) -> int:
    """Resolve (or dismiss) the claim's open flags of this kind; how many there were."""
    stmt = (
        update(ClaimFlag)
        .where(
            col(ClaimFlag.claim_id) == claim_id, col(ClaimFlag.kind) == kind, col(ClaimFlag.status) == "open"
        )
        .values(status=status, note=note, resolved_by=by, resolved_at=at)
    )
    return (await session.execute(stmt)).rowcount  # type: ignore[attr-defined]
