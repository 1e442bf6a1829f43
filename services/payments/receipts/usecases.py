"""The front door: an upload, a poll of `remittance.received` or a repair of a received
file, each kept and processed by the intake; and what became of a received file."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.intake import domain, store
from services.payments.intake.domain import POSTED, REFUSED, REPLACED, SetMoney
from services.payments.intake.usecases import FileResult, Incoming, keep, process, refresh_files
from services.payments.remittances.x12 import read_835
from shared.paging import DateRange, PageQuery


async def receive(
    session: AsyncSession, x12_text: str, *, actor: str, repair_of: uuid.UUID | None = None
) -> FileResult:
    """An upload (or a repair of a received file): kept in a transaction of its own, then
    processed in the next one."""
    incoming = Incoming(x12_text, "http", actor, repair_of=repair_of)
    async with session.begin():
        await keep(session, [incoming])
    async with session.begin():
        (result,) = await process(session, [incoming])
        if repair_of is not None:
            await _mark_repaired(session, repair_of, result, actor)
    return result


async def receive_events(session: AsyncSession, files: Sequence[Incoming]) -> list[FileResult]:
    """A poll's 835s: kept in a transaction of their own, on a connection of their own, then
    processed in the consumer's transaction (with its inbox rows). A file nothing can be
    posted from is processed in that other transaction too, so it stays kept as refused
    with its errors, and `Refused` is raised before anything else is written: the consumer
    replays the poll event by event, the others post, and that one goes to the dead-letter
    topic."""
    async with AsyncSession(session.bind, expire_on_commit=False) as own:
        async with own.begin():
            await keep(own, files)
        reads = [read_835(f.x12_text) for f in files]
        refused = [i for i, read in enumerate(reads) if not any(s.ok for s in read.sets)]
        if refused:
            async with own.begin():
                await process(own, [files[i] for i in refused], [reads[i] for i in refused])
            first = reads[refused[0]].all_errors[0]
            raise domain.Refused(f"kept as received file {files[refused[0]].file_id}: {first.error()}")
    return await process(session, files, reads)


async def _mark_repaired(
    session: AsyncSession, original_id: uuid.UUID, repair: FileResult, actor: str
) -> None:
    """The refused sets of the original that the repair carried (same trace number, or the
    same place in the file when the trace could not be read) and did not refuse again."""
    fixed = [s for s in repair.sets if s.outcome != REFUSED]
    now = datetime.now(UTC)
    for s in await store.sets_of(session, original_id):
        if s.outcome != REFUSED:
            continue
        match = next(
            (
                f
                for f in fixed
                if (f.trace_number == s.trace_number if s.trace_number else f.index == s.set_index)
            ),
            None,
        )
        if match is not None:
            await store.update_set(
                session,
                s.id,
                {
                    "outcome": domain.REPAIRED,
                    "resolution": "repaired",
                    "resolved_by": actor,
                    "resolved_at": now,
                    "remittance_id": match.remittance_id,
                },
            )
    await refresh_files(session, [original_id])


async def file_view(session: AsyncSession, file_id: uuid.UUID) -> dict[str, Any] | None:
    """A received file (not its text): outcome, every error, each set, the remittances it
    produced, its repairs and its money; None when there is no such file."""
    row = await store.file(session, file_id)
    if row is None:
        return None
    sets = await store.sets_of(session, file_id)
    return {
        **row._mapping,
        "sets": [dict(s._mapping) for s in sets],
        "remittance_ids": [s.remittance_id for s in sets if s.outcome in (POSTED, REPLACED)],
        "repairs": [r for r, _ in await store.repairs_of(session, file_id)],
        "money": await file_money(session, file_id),
    }


async def file_money(session: AsyncSession, file_id: uuid.UUID) -> dict[str, Any]:
    """Where each cent of a received file is (`intake.domain.file_money`): its sets' BPR02
    is posted, parked in the unmatched queue or as a possible duplicate payment (open, owed
    back to the payer, or dismissed without money), already posted (duplicates), held (payer
    needed, conflict, refused) or explicitly dismissed, replaced or repaired, to the cent."""
    rows = await store.money_of(session, file_id)
    return domain.file_money(
        SetMoney(
            r.outcome,
            r.amount,
            Decimal(r.posted),
            Decimal(r.unmatched),
            Decimal(r.possible_duplicate),
            Decimal(r.payer_credit),
            Decimal(r.no_money),
        )
        for r in rows
    )


async def raw(session: AsyncSession, file_id: uuid.UUID) -> str | None:
    return await store.raw(session, file_id)


async def exists(session: AsyncSession, file_id: uuid.UUID) -> bool:
    """Whether there is such a received file (in a transaction of its own, before a repair)."""
    async with session.begin():
        return await store.file(session, file_id) is not None


async def list_files(
    session: AsyncSession, page: PageQuery, dates: DateRange, *, outcome: str | None, source: str | None
) -> tuple[Sequence[Any], str | None]:
    """One page of received files, newest first."""
    return await store.list_files(session, page, dates, outcome=outcome, source=source)


async def retry_unprocessed(
    sessions: Any, *, older_than: float, limit: int = 20, lease: float = 300.0
) -> int:
    """Process files kept but never processed (their processing crashed, or their event was
    given up), each in a transaction of its own; `sessions()` opens a session. Returns how
    many were taken."""
    async with sessions() as session, session.begin():
        rows = await store.claim_unprocessed(session, older_than=older_than, limit=limit, lease=lease)
    for row in rows:
        incoming = Incoming(
            row.x12, row.source, row.actor, payer_id=row.payer_hint, repair_of=row.repair_of, file_id=row.id
        )
        async with sessions() as session, session.begin():
            await process(session, [incoming])
    return len(rows)
