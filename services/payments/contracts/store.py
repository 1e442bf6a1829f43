"""All of the contracts' SQL: fee schedule versions in (numbered per payer), the versions
and rates a batch of postings needs, and the versions as the API lists them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.contracts.domain import FeeBook, FeeVersion
from services.payments.contracts.tables import fee_schedule_entries, fee_schedules
from shared.bulk import insert_many
from shared.events.catalogue import FeeScheduleEntry
from shared.paging import PageQuery, paginate

_VERSION_COLUMNS = "id, payer_id, version, effective_date, loaded_at"


def _version(row: Any) -> FeeVersion:
    return FeeVersion(row.id, row.payer_id, row.version, row.effective_date, row.loaded_at)


async def next_version(session: AsyncSession, payer_id: str) -> int:
    """The payer's next version number, with the payer's uploads serialised until commit
    (two uploads at once get 1 and 2, not 1 twice)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('payments-fee-schedule'), hashtext(:p))"), {"p": payer_id}
    )
    row = await session.execute(
        text("SELECT coalesce(max(version), 0) + 1 FROM fee_schedules WHERE payer_id = :p"), {"p": payer_id}
    )
    return int(row.scalar_one())


async def insert_fee_schedule(
    session: AsyncSession, version: FeeVersion, entries: Sequence[FeeScheduleEntry], *, actor: str
) -> None:
    """A new version and its entries (older versions stay: each applies from its date)."""
    await insert_many(
        session,
        fee_schedules,
        [
            {
                "id": version.id,
                "payer_id": version.payer_id,
                "version": version.version,
                "effective_date": version.effective_date,
                "loaded_by": actor,
                "loaded_at": version.uploaded_at,
            }
        ],
    )
    await insert_many(
        session,
        fee_schedule_entries,
        [
            {
                "fee_schedule_id": version.id,
                "code": e.code,
                "modifier": e.modifier or "",
                "allowed": e.allowed,
            }
            for e in entries
        ],
    )


async def fee_book(session: AsyncSession, payer_ids: Sequence[str], codes: Sequence[str]) -> FeeBook:
    """Every version of these payers, and their rates for these codes only (what a poll's
    lines can be compared with), with two queries for all of them."""
    book = FeeBook()
    if not payer_ids or not codes:
        return book
    rows = await session.execute(
        text(f"SELECT {_VERSION_COLUMNS} FROM fee_schedules WHERE payer_id = ANY(:p)"),  # noqa: S608 (constant)
        {"p": list(payer_ids)},
    )
    for r in rows:
        book.versions.setdefault(r.payer_id, []).append(_version(r))
    ids = [v.id for versions in book.versions.values() for v in versions]
    if not ids:
        return book
    rates = await session.execute(
        text(
            "SELECT fee_schedule_id, code, modifier, allowed FROM fee_schedule_entries "
            "WHERE fee_schedule_id = ANY(:ids) AND code = ANY(:codes)"
        ),
        {"ids": ids, "codes": list(codes)},
    )
    for r in rates:
        book.rates.setdefault(r.fee_schedule_id, {})[r.code, r.modifier] = r.allowed
    return book


async def versions(session: AsyncSession, payer_id: str) -> list[FeeVersion]:
    """All versions of a payer's schedule."""
    rows = await session.execute(
        text(f"SELECT {_VERSION_COLUMNS} FROM fee_schedules WHERE payer_id = :p"),  # noqa: S608 (constant)
        {"p": payer_id},
    )
    return [_version(r) for r in rows]


async def list_versions(
    session: AsyncSession, payer_id: str, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """One page of a payer's versions, newest upload first, with their entry counts."""
    t = fee_schedules.c
    entries = (
        select(text("count(*)"))
        .select_from(fee_schedule_entries)
        .where(fee_schedule_entries.c.fee_schedule_id == t.id)
        .scalar_subquery()
    )
    stmt = select(
        t.id, t.payer_id, t.version, t.effective_date, t.loaded_at, t.loaded_by, entries.label("entries")
    ).where(t.payer_id == payer_id)
    return await paginate(session, stmt, page, t.loaded_at, t.id, key=lambda r: (r.loaded_at, r.id))


async def version(session: AsyncSession, payer_id: str, number: int) -> Any:
    """One version of a payer's schedule (with who uploaded it), or None."""
    return (
        await session.execute(
            text(
                "SELECT id, payer_id, version, effective_date, loaded_at, loaded_by, "
                "(SELECT count(*) FROM fee_schedule_entries e WHERE e.fee_schedule_id = s.id) AS entries "
                "FROM fee_schedules s WHERE payer_id = :p AND version = :v"
            ),
            {"p": payer_id, "v": number},
        )
    ).first()


async def rates(session: AsyncSession, schedule_id: uuid.UUID) -> Sequence[Any]:
    """A version's rates, by code and modifier."""
    rows = await session.execute(
        text(
            "SELECT code, modifier, allowed FROM fee_schedule_entries WHERE fee_schedule_id = :id "
            "ORDER BY code, modifier"
        ),
        {"id": schedule_id},
    )
    return rows.all()
