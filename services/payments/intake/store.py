"""All of the intake's SQL: received files (kept before anything acts on them) and their
transaction sets, the lock per payer and trace number that serialises deciding, the held
queues (conflicts, payer needed) and the money of a file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.intake.tables import received_files, received_sets
from shared.bulk import insert_many
from shared.due import claim_due
from shared.paging import DateRange, PageQuery, paginate
from shared.stuckwork import count_and_oldest


async def keep_files(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[uuid.UUID, uuid.UUID]:
    """Insert received files; one whose event was kept before (a redelivery, a replayed
    poll) is not inserted again. Returns the kept file of each event id."""
    await insert_many(session, received_files, rows, on_conflict=["event_id"])
    events = [r["event_id"] for r in rows if r["event_id"] is not None]
    if not events:
        return {}
    found = await session.execute(
        select(received_files.c.event_id, received_files.c.id).where(received_files.c.event_id.in_(events))
    )
    return {r.event_id: r.id for r in found}


async def lock_unprocessed(session: AsyncSession, file_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of these files, those nothing has processed yet, locked until the caller commits (so
    an upload, a redelivery and the retry worker never process one file twice)."""
    rows = await session.execute(
        text(
            "SELECT id FROM received_files WHERE id = ANY(:ids) AND outcome = 'received' "
            "ORDER BY id FOR UPDATE"
        ),
        {"ids": list(file_ids)},
    )
    return {r.id for r in rows}


async def lock_traces(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> None:
    """Serialise deciding on these (payer, trace number) pairs until the transaction ends:
    two versions of one trace arriving at once must not both post. Taken in one order."""
    if keys:
        await session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 835)) FROM (SELECT k FROM "
                "jsonb_array_elements_text(CAST(:keys AS jsonb)) AS k ORDER BY k) AS sorted"
            ),
            {"keys": json.dumps(sorted({f"{p}\x1f{t}" for p, t in keys}))},
        )


async def held_of_traces(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """Sets of these (payer, trace number) pairs held as conflicts or dismissed: id,
    payer_id, trace_number, sha256, outcome, differences."""
    if not keys:
        return []
    rows = await session.execute(
        text(
            "SELECT id, payer_id, trace_number, sha256, outcome, differences FROM received_sets "
            "WHERE outcome IN ('conflict', 'dismissed') AND payer_id = ANY(:p) AND trace_number = ANY(:t)"
        ),
        {"p": list({k[0] for k in keys}), "t": list({k[1] for k in keys})},
    )
    wanted = set(keys)
    return [r for r in rows if (r.payer_id, r.trace_number) in wanted]


async def waiting_same(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    """The sets already waiting for their payer with these (trace number, digest) pairs."""
    if not keys:
        return {}
    rows = await session.execute(
        text(
            "SELECT id, trace_number, sha256 FROM received_sets WHERE outcome = 'payer_needed' "
            "AND trace_number = ANY(:t) AND sha256 = ANY(:d) ORDER BY created_at DESC"
        ),
        {"t": list({k[0] for k in keys}), "d": list({k[1] for k in keys})},
    )
    return {(r.trace_number, r.sha256): r.id for r in rows if (r.trace_number, r.sha256) in set(keys)}


async def insert_sets(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await insert_many(session, received_sets, rows)


async def finish_files(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record the outcome, errors and counts of processed files, with one UPDATE (`rows`:
    id, outcome, errors, counts, at)."""
    if rows:
        await session.execute(
            text(
                "UPDATE received_files f SET outcome = u.outcome, errors = u.errors, counts = u.counts, "
                "processed_at = u.at FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
                "AS u(id uuid, outcome text, errors jsonb, counts jsonb, at timestamptz) WHERE f.id = u.id"
            ),
            {"rows": json.dumps(rows, default=str)},
        )


async def update_set(session: AsyncSession, set_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(received_sets.update().where(received_sets.c.id == set_id).values(**values))


async def file(session: AsyncSession, file_id: uuid.UUID) -> Any:
    """A received file without its text (that is read only through `raw`), or None."""
    columns = [c for c in received_files.c if c.name != "x12"]
    return (await session.execute(select(*columns).where(received_files.c.id == file_id))).first()


async def raw(session: AsyncSession, file_id: uuid.UUID) -> str | None:
    return await session.scalar(select(received_files.c.x12).where(received_files.c.id == file_id))


async def sets_of(session: AsyncSession, file_id: uuid.UUID) -> Sequence[Any]:
    rows = await session.execute(
        select(received_sets).where(received_sets.c.file_id == file_id).order_by(received_sets.c.set_index)
    )
    return rows.all()


async def repairs_of(session: AsyncSession, file_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The repairs of a received file, oldest first: (id, outcome)."""
    rows = await session.execute(
        select(received_files.c.id, received_files.c.outcome)
        .where(received_files.c.repair_of == file_id)
        .order_by(received_files.c.received_at)
    )
    return [(r.id, r.outcome) for r in rows]


async def update_file(
    session: AsyncSession, file_id: uuid.UUID, outcome: str, counts: dict[str, int]
) -> None:
    await session.execute(
        received_files.update().where(received_files.c.id == file_id).values(outcome=outcome, counts=counts)
    )


async def lock_set(session: AsyncSession, set_id: uuid.UUID) -> Any:
    """A set with its file's source, actor and text, locked for resolving; or None."""
    return (
        await session.execute(
            text(
                "SELECT s.*, f.source, f.actor, f.x12 FROM received_sets s "
                "JOIN received_files f ON f.id = s.file_id "
                "WHERE s.id = :id FOR UPDATE OF s"
            ),
            {"id": set_id},
        )
    ).first()


async def set_with_file(session: AsyncSession, set_id: uuid.UUID) -> Any:
    """A set with its file's text (to read it again), or None."""
    return (
        await session.execute(
            text(
                "SELECT s.*, f.x12 FROM received_sets s JOIN received_files f ON f.id = s.file_id "
                "WHERE s.id = :id"
            ),
            {"id": set_id},
        )
    ).first()


async def waiting_for(session: AsyncSession, identifiers: Sequence[str]) -> Sequence[Any]:
    """Sets waiting for a payer that carry one of these identifiers, with their file's
    source, actor and text, oldest first, locked (a payer mapping posts them)."""
    rows = await session.execute(
        text(
            "SELECT s.*, f.source, f.actor, f.x12 FROM received_sets s "
            "JOIN received_files f ON f.id = s.file_id "
            "WHERE s.outcome = 'payer_needed' AND EXISTS "
            "(SELECT 1 FROM jsonb_array_elements(s.payer_identifiers) i WHERE i->>'value' = ANY(:ids)) "
            "ORDER BY s.created_at, s.set_index FOR UPDATE OF s"
        ),
        {"ids": list(identifiers)},
    )
    return rows.all()


async def money_of(session: AsyncSession, file_id: uuid.UUID) -> Sequence[Any]:
    """Each set of a file: outcome, amount and, for a posted one, what its remittance posted
    (claim postings other than a replacement's reversals, less PLB), still parks in the
    unmatched queue, and parks as possible duplicates (open, payer credit, no money)."""
    rows = await session.execute(
        text(
            "SELECT s.outcome, s.amount, "
            "coalesce((SELECT sum(p.paid) FROM claim_postings p WHERE p.remittance_id = r.id "
            "AND p.matched_by <> 'replacement'), 0) - coalesce(r.provider_adjustments, 0) AS posted, "
            "coalesce((SELECT sum(u.paid) FROM unmatched_claims u WHERE u.remittance_id = r.id "
            "AND u.resolved_at IS NULL), 0) AS unmatched, "
            "coalesce(d.open, 0) AS possible_duplicate, coalesce(d.payer_credit, 0) AS payer_credit, "
            "coalesce(d.no_money, 0) AS no_money "
            "FROM received_sets s LEFT JOIN remittances r ON r.id = s.remittance_id AND s.outcome = 'posted' "
            "LEFT JOIN LATERAL (SELECT sum(x.paid) FILTER (WHERE x.status = 'open') AS open, "
            "sum(x.paid) FILTER (WHERE x.status = 'payer_paid_twice') AS payer_credit, "
            "sum(x.paid) FILTER (WHERE x.status = 'no_money') AS no_money "
            "FROM possible_duplicates x WHERE x.remittance_id = r.id) d ON true "
            "WHERE s.file_id = :id ORDER BY s.set_index"
        ),
        {"id": file_id},
    )
    return rows.all()


async def list_files(
    session: AsyncSession, page: PageQuery, dates: DateRange, *, outcome: str | None, source: str | None
) -> tuple[Sequence[Any], str | None]:
    """One page of received files, newest first (without their text)."""
    t = received_files.c
    stmt = select(*[c for c in received_files.c if c.name != "x12"])
    if outcome is not None:
        stmt = stmt.where(t.outcome == outcome)
    if source is not None:
        stmt = stmt.where(t.source == source)
    stmt = dates.apply(stmt, t.received_at)
    return await paginate(session, stmt, page, t.received_at, t.id, key=lambda r: (r.received_at, r.id))


async def list_sets(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    outcomes: Sequence[str],
    resolutions: Sequence[str] = (),
    trace_number: str | None = None,
) -> tuple[Sequence[Any], str | None]:
    """A work queue of sets, oldest first: those in `outcomes`, or resolved as `resolutions`."""
    t = received_sets.c
    stmt = select(received_sets, received_files.c.received_at).join(
        received_files, received_files.c.id == t.file_id
    )
    stmt = stmt.where(or_(t.outcome.in_(outcomes), t.resolution.in_(resolutions) if resolutions else False))
    if trace_number is not None:
        stmt = stmt.where(t.trace_number == trace_number)
    stmt = dates.apply(stmt, t.created_at)
    return await paginate(
        session, stmt, page, t.created_at, t.id, key=lambda r: (r.created_at, r.id), oldest_first=True
    )


async def claim_unprocessed(
    session: AsyncSession, *, older_than: float, limit: int, lease: float
) -> Sequence[Any]:
    """Files still unprocessed `older_than` seconds after they were kept (their processing
    crashed, or its event was given up), leased to this worker for `lease` seconds."""
    t = received_files.c
    now = func.clock_timestamp()
    due = (
        (t.outcome == "received")
        & (t.received_at <= now - func.make_interval(0, 0, 0, 0, 0, 0, older_than))
        & (t.retry_at.is_(None) | (t.retry_at <= now))
    )
    return await claim_due(
        session,
        received_files,
        due=due,
        order_by=[t.received_at, t.id],
        limit=limit,
        lease=(t.retry_at, lease),
    )


async def file_ids_of_remittances(
    session: AsyncSession, remittance_ids: Sequence[uuid.UUID]
) -> Sequence[Any]:
    """The set (and its file) each remittance was posted from: remittance_id, set_id, file_id."""
    rows = await session.execute(
        text(
            "SELECT r.id AS remittance_id, s.id AS set_id, s.file_id FROM remittances r "
            "JOIN received_sets s ON s.id = r.received_set_id WHERE r.id = ANY(:ids)"
        ),
        {"ids": list(remittance_ids)},
    )
    return rows.all()


async def sets_by_ids(session: AsyncSession, set_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    rows = await session.execute(
        select(received_sets, received_files.c.received_at)
        .join(received_files, received_files.c.id == received_sets.c.file_id)
        .where(received_sets.c.id.in_(list(set_ids)))
        .order_by(received_sets.c.created_at, received_sets.c.set_index)
    )
    return rows.all()


async def held_count(session: AsyncSession, outcome: str) -> tuple[int, float | None]:
    """Transaction sets held with `outcome` (a conflict for review, or waiting for its payer):
    how many, and seconds since the oldest was received (index `received_sets_waiting`)."""
    c = received_sets.c
    return await count_and_oldest(session, received_sets, c.created_at, c.outcome == outcome)
