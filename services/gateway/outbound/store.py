"""All of the outbound SQL: queued claims, control numbers, built files and their upload."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.mailbox.tables import control_numbers, partner_state
from services.gateway.outbound.domain import MAX_CONTROL_NUMBER
from services.gateway.outbound.tables import outbound_claims, submission_files
from shared.bulk import insert_many
from shared.due import claim_due


class ControlNumbersExhausted(RuntimeError):
    """ISA13/GS06 reached 999999999: an operator decides (a new sender id, or a reset the
    partner agreed to); the gateway never wraps silently."""


async def add_claims(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Each claim.submitted once (the event id is the key: a redelivery changes nothing)."""
    await insert_many(session, outbound_claims, rows, on_conflict=["event_id"])


async def queue_of(session: AsyncSession, partner_id: str) -> tuple[int, float | None]:
    """How many claims wait for this partner's next file, and the oldest one's age (s)."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.extract("epoch", func.clock_timestamp() - func.min(outbound_claims.c.received_at)),
            ).where(outbound_claims.c.partner_id == partner_id, outbound_claims.c.state == "queued")
        )
    ).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


async def take_queued(session: AsyncSession, partner_id: str, limit: int) -> Sequence[Any]:
    """Queued claims no other batcher holds, oldest first, locked until this file commits."""
    c = outbound_claims.c
    return await claim_due(
        session,
        outbound_claims,
        due=(c.partner_id == partner_id) & (c.state == "queued") & c.file_id.is_(None),
        order_by=[c.received_at, c.event_id],
        limit=limit,
        returning=[c.event_id, c.x12_837],
    )


async def next_control_number(session: AsyncSession, partner_id: str, kind: str, start: int) -> int:
    """The partner's next ISA13 (`isa`) or GS06 (`gs`): the row is locked until the caller
    commits, so two batchers never get the same number; at 999999999 it refuses."""
    stmt = (
        insert(control_numbers)
        .values(partner_id=partner_id, kind=kind, last_value=start)
        .on_conflict_do_update(
            index_elements=[control_numbers.c.partner_id, control_numbers.c.kind],
            set_={"last_value": control_numbers.c.last_value + 1},
            where=control_numbers.c.last_value < MAX_CONTROL_NUMBER,
        )
        .returning(control_numbers.c.last_value)
    )
    value = (await session.execute(stmt)).scalar()
    if value is None:
        raise ControlNumbersExhausted(f"partner {partner_id}: {kind} control numbers exhausted")
    return int(value)


async def add_file(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(submission_files).values(**values))


async def file_claims(
    session: AsyncSession, file_id: uuid.UUID, placed: Sequence[tuple[uuid.UUID, str, str]]
) -> int:
    """Put the claims in the file (only claims in no file yet), each with the ST02 and the GS06
    of its functional group that the file gives it (`placed`: event id, ST02, GS06); how many
    were put."""
    stmt = text(
        """
        UPDATE outbound_claims o
        SET state = 'filed', file_id = :file_id, set_control_number = r.st02,
            group_control_number = r.gcn
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(event_id uuid, st02 text, gcn text)
        WHERE o.event_id = r.event_id AND o.file_id IS NULL
        """
    )
    rows = json.dumps([{"event_id": str(e), "st02": st02, "gcn": gcn} for e, st02, gcn in placed])
    result = await session.execute(stmt, {"file_id": file_id, "rows": rows})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def take_built(
    session: AsyncSession, partner_id: str, lease_seconds: float, limit: int
) -> Sequence[Any]:
    """Built files due for an upload attempt, leased (a crashed uploader's come back)."""
    c = submission_files.c
    return await claim_due(
        session,
        submission_files,
        due=(c.partner_id == partner_id)
        & (c.state == "built")
        & (c.upload_at.is_(None) | (c.upload_at <= func.clock_timestamp())),
        order_by=[c.built_at, c.id],
        limit=limit,
        lease=(c.upload_at, lease_seconds),
        values={"upload_attempts": c.upload_attempts + 1},
        returning=[c.id, c.file_name, c.x12, c.built_at],
    )


async def mark_uploaded(session: AsyncSession, file_id: uuid.UUID, partner_id: str, now: datetime) -> None:
    await session.execute(
        update(submission_files)
        .where(submission_files.c.id == file_id, submission_files.c.state == "built")
        .values(state="uploaded", uploaded_at=now, last_error=None)
    )
    await session.execute(
        insert(partner_state)
        .values(partner_id=partner_id, last_upload_at=now)
        .on_conflict_do_update(index_elements=[partner_state.c.partner_id], set_={"last_upload_at": now})
    )


async def upload_failed(session: AsyncSession, file_id: uuid.UUID, kind: str) -> None:
    await session.execute(
        update(submission_files).where(submission_files.c.id == file_id).values(last_error=kind)
    )


_QUEUED_AGE = text(
    "SELECT count(*), extract(epoch FROM clock_timestamp() - min(received_at)) "
    "FROM outbound_claims WHERE state = 'queued'"
)
_BUILT_AGE = text(
    "SELECT count(*), extract(epoch FROM clock_timestamp() - min(built_at)) "
    "FROM submission_files WHERE state = 'built'"
)


async def queued_age(session: AsyncSession) -> tuple[int, float | None]:
    """Stuck work: queued claims (count, oldest age)."""
    row = (await session.execute(_QUEUED_AGE)).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


async def built_age(session: AsyncSession) -> tuple[int, float | None]:
    """Stuck work: files built and not uploaded yet (count, oldest age)."""
    row = (await session.execute(_BUILT_AGE)).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)
