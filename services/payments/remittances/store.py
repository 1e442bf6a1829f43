"""All of the remittances' SQL: payers and remittance rows (one per payer, trace number and
set content), each written with one statement for a whole poll."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.remittances.tables import remittances
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


async def lock_payers(session: AsyncSession, *, shared: bool) -> None:
    """Until the transaction ends: registering a payer (exclusive) waits for the 835s that found
    no payer and will wait for one (shared), and they for it, so the registration always sees
    the sets parked for want of it, or they see the payer. Without it a set parked on one
    replica while the payer was mapped on another waited for a payer already registered."""
    lock = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await session.execute(text(f"SELECT {lock}(hashtext('payments-payer-resolution'))"))


async def put_payer(session: AsyncSession, payer_id: str, name: str, identifiers: list[str]) -> None:
    """Add a payer, or replace its name and identifiers."""
    await session.execute(
        text(
            "INSERT INTO payers (payer_id, name, identifiers) VALUES (:p, :n, :i) ON CONFLICT (payer_id) "
            "DO UPDATE SET name = excluded.name, identifiers = excluded.identifiers"
        ),
        {"p": payer_id, "n": name, "i": identifiers},
    )


async def insert_remittances(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """A poll's new remittances, with one INSERT (the intake decided they are new, under a
    lock per payer and trace number)."""
    await insert_many(session, remittances, rows)


async def of_traces(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """Every remittance of these (payer, trace number) pairs, oldest first: id, payer_id,
    trace_number, set_sha256, received_set_id, kind, and replaced_by (the remittance that
    replaced it, or None)."""
    if not keys:
        return []
    rows = await session.execute(
        text(
            "SELECT r.id, r.payer_id, r.trace_number, r.set_sha256, r.received_set_id, r.kind, "
            "x.id AS replaced_by FROM remittances r LEFT JOIN remittances x ON x.replaces = r.id "
            "WHERE r.payer_id = ANY(:p) AND r.trace_number = ANY(:t) ORDER BY r.received_at, r.id"
        ),
        {"p": list({k[0] for k in keys}), "t": list({k[1] for k in keys})},
    )
    wanted = set(keys)
    return [r for r in rows if (r.payer_id, r.trace_number) in wanted]


async def set_digest(session: AsyncSession, remittance_id: uuid.UUID, digest: str) -> None:
    """Record the set digest of a remittance posted before digests were kept."""
    await session.execute(
        text("UPDATE remittances SET set_sha256 = :d WHERE id = :id AND set_sha256 IS NULL"),
        {"d": digest, "id": remittance_id},
    )


async def remittance(session: AsyncSession, remittance_id: uuid.UUID) -> Any:
    """A remittance row with its payer's name and the remittance that replaced it, or None."""
    return (
        await session.execute(
            text(
                "SELECT r.*, p.name AS payer_name, x.id AS replaced_by FROM remittances r LEFT JOIN payers p "
                "USING (payer_id) LEFT JOIN remittances x ON x.replaces = r.id WHERE r.id = :id"
            ),
            {"id": remittance_id},
        )
    ).first()


async def raw_file(session: AsyncSession, remittance_id: uuid.UUID) -> str | None:
    """The 835 file a remittance came in, exactly as received (the intake keeps it), or None."""
    row = (
        await session.execute(
            text(
                "SELECT f.x12 FROM remittances r JOIN received_sets s ON s.id = r.received_set_id "
                "JOIN received_files f ON f.id = s.file_id WHERE r.id = :id"
            ),
            {"id": remittance_id},
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
