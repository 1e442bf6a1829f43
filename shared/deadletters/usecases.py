"""What operators do with dead letters, one way for the API and the command line: index, list,
show, replay one or all that match, discard.

A replay sends the record back to its original topic with its original key, value and headers
(without the dead-letter ones). The event keeps its id, so every consumer group that already
handled it skips it (inbox), and one whose handling failed gets it again; replaying twice has
one effect. Replays keep the order the events failed in (oldest first).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import RowMapping

from shared.db import Database
from shared.deadletters import broker, domain, store
from shared.deadletters.store import Filters
from shared.deadletters.tables import dead_letters
from shared.events.catalogue import dlq_topic
from shared.kafka import KafkaAccess, deadletters_access
from shared.paging import PageQuery, paginate

log = logging.getLogger(__name__)
REPLAY_BATCH = 500


@dataclass(frozen=True)
class Queue:
    """The dead letters of one consumer group (a service's): where the records are and where
    their index is."""

    db: Database
    kafka: KafkaAccess  # the dead-letter replay's principal (shared.kafka_acl.DEADLETTERS)
    group: str
    service: str
    topics: tuple[str, ...]  # the topics the group consumes (their `.dlq` topics hold its letters)


def queue_for(app: Any) -> Queue:
    """A running service's dead letters: its consumer group's, on the dead-letter topics of
    the topics it consumes (shared.app keeps both on app.state)."""
    state = app.state
    return Queue(
        db=state.db,
        kafka=deadletters_access(state.settings),
        group=state.dead_letter_group,
        service=state.service,
        topics=tuple(state.dead_letter_topics),
    )


class NotFound(LookupError):
    """No such dead letter of this group."""


class NotAllowed(Exception):
    """The dead letter's state does not allow that (a discarded one is not replayed)."""


class Gone(Exception):
    """The dead-letter topic no longer holds the record (it outlived the topic's retention)."""


@dataclass
class Replayed:
    """What a replay of everything matching did."""

    ids: list[uuid.UUID] = field(default_factory=list)
    missing: list[uuid.UUID] = field(default_factory=list)


async def sync(queue: Queue) -> int:
    """Index what the group parked since the last look; returns how many letters are new.
    Records of other groups on the same topics are theirs (each service lists its own)."""
    async with queue.db.session() as session:
        start = await store.offsets(session, queue.group)
    records, ends = await broker.read_new(queue.kafka, [dlq_topic(t) for t in queue.topics], start)
    rows = [domain.index_row(r) for r in records]
    ours = [r for r in rows if r["consumer_group"] == queue.group and r["topic"] in queue.topics]
    async with queue.db.session() as session, session.begin():
        await store.add(session, ours)
        await store.advance(session, queue.group, ends)
    return len(ours)


async def try_sync(queue: Queue) -> bool:
    """`sync`, or False when Kafka cannot be read now (the index answers as it stands)."""
    try:
        await sync(queue)
    except Exception as exc:
        log.warning("dead-letter index not refreshed", extra={"error_type": type(exc).__name__})
        return False
    return True


async def topic_stats(queue: Queue) -> dict[str, store.TopicStats]:
    """Parked letters per consumed topic (count, newest and oldest age, parked in the last
    hour), as the index has them (bring it up to date with `try_sync` first)."""
    async with queue.db.session() as session:
        return await store.topic_stats(session, queue.group, queue.topics)


async def listing(queue: Queue, filters: Filters, page: PageQuery) -> tuple[Sequence[Any], str | None, bool]:
    """A page of the group's dead letters, newest first; and whether the index was current."""
    current = await try_sync(queue)
    async with queue.db.session() as session:
        stmt = store.listing(filters, queue.group, queue.topics)
        items, cursor = await paginate(
            session,
            stmt,
            page,
            dead_letters.c.failed_at,
            dead_letters.c.id,
            key=lambda r: (r.failed_at, r.id),
        )
    return [item._mapping for item in items], cursor, current


async def show(queue: Queue, letter_id: uuid.UUID) -> tuple[RowMapping, ConsumerRecord]:
    """A dead letter and its record (headers, key, payload) as Kafka holds it."""
    row = await _one(queue, letter_id)
    return row, await _record(queue, row)


async def replay(queue: Queue, letter_id: uuid.UUID, actor: str) -> RowMapping:
    """Send one dead letter back to its original topic. A replayed one may be replayed again
    (consumers that handled it skip it); a discarded one may not."""
    async with queue.db.session() as session, session.begin():
        row = await store.one(session, letter_id, queue.group, queue.topics, lock=True)
        if row is None:
            raise NotFound(letter_id)
        if row["status"] == "discarded":
            raise NotAllowed("discarded")
        record = await _record(queue, row)
        await broker.send_back(queue.kafka, [(row["topic"], record)], client_id=f"{queue.service}-replay")
        await store.mark_replayed(session, [letter_id], actor)
    return await _one(queue, letter_id, fresh=False)


async def replay_matching(queue: Queue, filters: Filters, actor: str, *, limit: int) -> Replayed:
    """Replay up to `limit` parked dead letters that match, oldest first, in batches: each
    batch's rows stay locked while its records go back, so two operators never send one twice.
    Letters whose records are gone from Kafka are reported, not replayed."""
    await try_sync(queue)
    filters = replace(filters, status="parked")
    done = Replayed()
    after = None
    while len(done.ids) + len(done.missing) < limit:
        size = min(REPLAY_BATCH, limit - len(done.ids) - len(done.missing))
        async with queue.db.session() as session, session.begin():
            rows = await store.next_batch(
                session, filters, queue.group, queue.topics, after=after, limit=size
            )
            if not rows:
                break
            after = (rows[-1]["failed_at"], rows[-1]["id"])
            found = await broker.read_at(queue.kafka, [_place(row) for row in rows])
            back = [row for row in rows if _place(row) in found]
            items = [(row["topic"], found[_place(row)]) for row in back]
            await broker.send_back(queue.kafka, items, client_id=f"{queue.service}-replay")
            await store.mark_replayed(session, [row["id"] for row in back], actor)
        done.ids += [row["id"] for row in back]
        done.missing += [row["id"] for row in rows if _place(row) not in found]
    return done


async def discard(queue: Queue, letter_id: uuid.UUID, actor: str, note: str) -> RowMapping:
    """Give up on a parked dead letter, saying why (it stays on the topic until its retention
    ends, and in the index as discarded)."""
    async with queue.db.session() as session, session.begin():
        row = await store.one(session, letter_id, queue.group, queue.topics, lock=True)
        if row is None:
            raise NotFound(letter_id)
        if row["status"] != "parked":
            raise NotAllowed(row["status"])
        await store.mark_discarded(session, letter_id, actor, note)
    return await _one(queue, letter_id, fresh=False)


async def _one(queue: Queue, letter_id: uuid.UUID, *, fresh: bool = True) -> RowMapping:
    if fresh:
        await try_sync(queue)
    async with queue.db.session() as session:
        row = await store.one(session, letter_id, queue.group, queue.topics)
    if row is None:
        raise NotFound(letter_id)
    return row


def _place(row: RowMapping) -> broker.Place:
    return dlq_topic(row["topic"]), row["dlq_partition"], row["dlq_offset"]


async def _record(queue: Queue, row: RowMapping) -> ConsumerRecord:
    found = await broker.read_at(queue.kafka, [_place(row)])
    if _place(row) not in found:
        raise Gone(row["id"])
    return found[_place(row)]
