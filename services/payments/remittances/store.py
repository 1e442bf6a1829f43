"""All of the remittance intake's SQL: payers, remittance rows (one per payer and trace
number) and raw files, each written with one statement for a whole poll."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.remittances.tables import remittance_files, remittances
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate


async def payers_by_identifier(session: AsyncSession, identifiers: Sequence[str]) -> Sequence[Any]:
    """Registered payers with one of these ids or identifiers: (payer_id, identifiers)."""
    rows = await session.execute(
        text(
            "SELECT payer_id, identifiers FROM payers "
            "WHERE payer_id = ANY(:ids) OR identifiers && CAST(:ids AS text[])"
        ),
        {"ids": list(identifiers)},
    )
    return rows.all()


async def put_payer(session: AsyncSession, payer_id: str, name: str, identifiers: list[str]) -> None:
    """Add a payer, or replace its name and identifiers."""
    await session.execute(
        text(
            "INSERT INTO payers (payer_id, name, identifiers) VALUES (:p, :n, :i) ON CONFLICT (payer_id) "
            "DO UPDATE SET name = excluded.name, identifiers = excluded.identifiers"
        ),
        {"p": payer_id, "n": name, "i": identifiers},
    )


async def insert_remittances(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert the remittances whose (payer, trace number) is new, in the database and in
    `rows` (the first wins); returns the ids of those inserted."""
    inserted = await insert_many(
        session, remittances, rows, on_conflict=["payer_id", "trace_number"], returning=["id"]
    )
    return {r.id for r in inserted}


async def remittance_ids(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    """The stored remittance of each (payer, trace number)."""
    rows = await session.execute(
        text(
            "SELECT id, payer_id, trace_number FROM remittances "
            "WHERE payer_id = ANY(:payers) AND trace_number = ANY(:traces)"
        ),
        {"payers": list({k[0] for k in keys}), "traces": list({k[1] for k in keys})},
    )
    return {(r.payer_id, r.trace_number): r.id for r in rows}


async def insert_files(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """The raw 835s of a poll's new remittances, with one INSERT."""
    await insert_many(session, remittance_files, rows)


async def remittance(session: AsyncSession, remittance_id: uuid.UUID) -> Any:
    """A remittance row with its payer's name, or None."""
    return (
        await session.execute(
            text(
                "SELECT r.*, p.name AS payer_name FROM remittances r LEFT JOIN payers p USING (payer_id) "
                "WHERE r.id = :id"
            ),
            {"id": remittance_id},
        )
    ).first()


async def raw_file(session: AsyncSession, remittance_id: uuid.UUID) -> str | None:
    """The 835 exactly as received, or None."""
    row = (
        await session.execute(
            text("SELECT x12 FROM remittance_files WHERE remittance_id = :id"), {"id": remittance_id}
        )
    ).first()
    return None if row is None else row.x12


async def list_remittances(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    payer_id: str | None,
    trace_number: str | None,
) -> tuple[Sequence[Any], str | None]:
    """One page of remittances, newest received first; dates are payment dates (BPR16)."""
    t = remittances.c
    stmt = select(t.id, t.payer_id, t.trace_number, t.amount, t.paid_date, t.source, t.received_at)
    if payer_id is not None:
        stmt = stmt.where(t.payer_id == payer_id)
    if trace_number is not None:
        stmt = stmt.where(t.trace_number == trace_number)
    if dates.date_from:
        stmt = stmt.where(t.paid_date >= dates.date_from)
    if dates.date_to:
        stmt = stmt.where(t.paid_date <= dates.date_to)
    return await paginate(session, stmt, page, t.received_at, t.id, key=lambda r: (r.received_at, r.id))
