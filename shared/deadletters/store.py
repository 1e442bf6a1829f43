"""All of the dead-letter index's SQL (the service's own schema)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, Select, func, select, text, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.bulk import insert_many
from shared.deadletters.tables import dead_letters
from shared.paging import DateRange

_OFFSETS = text(
    "SELECT dlq_topic, dlq_partition, next_offset FROM dead_letter_offsets WHERE consumer_group = :group"
)
_ADVANCE = text(
    "INSERT INTO dead_letter_offsets (consumer_group, dlq_topic, dlq_partition, next_offset) "
    "SELECT :group, o.topic, o.partition, o.next FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    "AS o(topic text, partition integer, next bigint) "
    "ON CONFLICT (consumer_group, dlq_topic, dlq_partition) "
    "DO UPDATE SET next_offset = GREATEST(dead_letter_offsets.next_offset, EXCLUDED.next_offset)"
)


@dataclass(frozen=True)
class Filters:
    """Which dead letters: by original topic, reason, status, event id, age and the days they
    failed on."""

    topic: str | None = None
    reason: str | None = None
    status: str | None = "parked"
    event_id: str | None = None
    older_than: timedelta | None = None
    dates: DateRange | None = None

    def apply(self, stmt: Select[Any], group: str, topics: Sequence[str]) -> Select[Any]:
        c = dead_letters.c
        stmt = stmt.where(c.consumer_group == group, c.topic.in_(list(topics)))
        for column, value in ((c.topic, self.topic), (c.reason, self.reason), (c.status, self.status)):
            if value is not None:
                stmt = stmt.where(column == value)
        if self.event_id is not None:
            stmt = stmt.where(c.event_id == self.event_id)
        if self.older_than is not None:
            stmt = stmt.where(c.failed_at < datetime.now(UTC) - self.older_than)
        return self.dates.apply(stmt, c.failed_at) if self.dates is not None else stmt


async def offsets(session: AsyncSession, group: str) -> dict[tuple[str, int], int]:
    """How far the group's dead-letter partitions are indexed: (topic, partition) -> next offset."""
    rows = await session.execute(_OFFSETS, {"group": group})
    return {(r.dlq_topic, r.dlq_partition): r.next_offset for r in rows}


async def add(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Index parked records; one indexed before (same place, or same original record) is skipped."""
    await insert_many(session, dead_letters, rows, on_conflict=())


async def advance(session: AsyncSession, group: str, ends: Mapping[tuple[str, int], int]) -> None:
    """Remember that the group's partitions are indexed up to `ends` (never moving back)."""
    if ends:
        rows = [{"topic": t, "partition": p, "next": n} for (t, p), n in ends.items()]
        await session.execute(_ADVANCE, {"group": group, "rows": json.dumps(rows)})


def listing(filters: Filters, group: str, topics: Sequence[str]) -> Select[Any]:
    """The statement of a list (paged by shared.paging on failed_at, id)."""
    return filters.apply(select(dead_letters), group, topics)


async def one(
    session: AsyncSession, letter_id: uuid.UUID, group: str, topics: Sequence[str], *, lock: bool = False
) -> RowMapping | None:
    """One of the group's dead letters; with `lock`, held until the transaction ends (a replay
    or discard happens once, whoever else tries at the same moment)."""
    stmt = (
        Filters(status=None).apply(select(dead_letters), group, topics).where(dead_letters.c.id == letter_id)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).mappings().one_or_none()


async def next_batch(
    session: AsyncSession,
    filters: Filters,
    group: str,
    topics: Sequence[str],
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    """The next matching dead letters, oldest first (the order they failed in), locked; rows
    another replay holds are skipped rather than waited for."""
    c = dead_letters.c
    stmt = filters.apply(select(dead_letters), group, topics)
    if after is not None:
        stmt = stmt.where(tuple_(c.failed_at, c.id) > tuple_(*after))
    stmt = stmt.order_by(c.failed_at, c.id).limit(limit).with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).mappings())


async def mark_replayed(session: AsyncSession, ids: Sequence[uuid.UUID], actor: str) -> None:
    c = dead_letters.c
    now = datetime.now(UTC)
    await session.execute(
        dead_letters.update()
        .where(c.id.in_(list(ids)))
        .values(
            status="replayed",
            replays=c.replays + 1,
            last_replayed_at=now,
            decided_by=actor,
            decided_at=now,
        )
    )


async def mark_discarded(session: AsyncSession, letter_id: uuid.UUID, actor: str, note: str) -> None:
    c = dead_letters.c
    await session.execute(
        dead_letters.update()
        .where(c.id == letter_id)
        .values(status="discarded", decided_by=actor, decided_at=datetime.now(UTC), note=note)
    )


async def counts(session: AsyncSession, group: str, topics: Sequence[str]) -> dict[tuple[str, str, str], int]:
    """How many dead letters per (topic, reason, status): what readiness and metrics show."""
    c = dead_letters.c
    stmt = (
        Filters(status=None)
        .apply(select(c.topic, c.reason, c.status, func.count()), group, topics)
        .group_by(c.topic, c.reason, c.status)
    )
    return {(t, r, s): n for t, r, s, n in (await session.execute(stmt)).all()}


# (parked, newest age s, oldest age s, parked in the last hour) of one topic.
TopicStats = tuple[int, float | None, float | None, int]


async def topic_stats(session: AsyncSession, group: str, topics: Sequence[str]) -> dict[str, TopicStats]:
    """The group's parked dead letters per topic: what stuck-work probes and the ops overview
    show (topics without any are absent)."""
    c = dead_letters.c
    age = func.extract("epoch", func.clock_timestamp() - c.failed_at)
    recent = func.count().filter(c.failed_at > func.clock_timestamp() - timedelta(hours=1))
    stmt = (
        Filters(status="parked")
        .apply(select(c.topic, func.count(), func.min(age), func.max(age), recent), group, topics)
        .group_by(c.topic)
    )
    rows = (await session.execute(stmt)).all()
    return {
        t: (int(n), max(float(new), 0.0), max(float(old), 0.0), int(hour)) for t, n, new, old, hour in rows
    }


async def parked_count(
    session: AsyncSession, group: str, topics: Sequence[str], *, within: timedelta | None = None
) -> tuple[int, float | None]:
    """The group's parked dead letters (those parked within `within`, if given): how many, and
    seconds since the oldest of them was parked. A stuck-work probe's query."""
    c = dead_letters.c
    age = func.extract("epoch", func.clock_timestamp() - func.min(c.failed_at))
    stmt = Filters(status="parked").apply(select(func.count(), age), group, topics)
    if within is not None:
        stmt = stmt.where(c.failed_at > func.clock_timestamp() - within)
    count, oldest = (await session.execute(stmt)).one()
    return int(count), (None if oldest is None else max(float(oldest), 0.0))
