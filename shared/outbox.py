"""Transactional outbox: events commit with the state change, a relay publishes them.

A service never talks to Kafka inside a request. It adds the event to its session with
`add_event`, in the same transaction as the change that caused it; a rolled-back
transaction therefore publishes nothing (`add_events` does the same for many at once).
The relay then publishes pending rows in id order (so in order per key) with an
idempotent producer and marks them published. A crash between publishing and marking
re-publishes on restart; it never loses an event, and consumers drop the duplicate by
event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import metrics
from shared.bulk import insert_many
from shared.db import Database
from shared.events.envelope import Event, headers_of, payload_bytes
from shared.kafka import KafkaAccess, started_producer
from shared.retry import Outage, run_forever
from shared.tables import OutboxRow

log = logging.getLogger(__name__)


def _row(event: Event) -> dict[str, Any]:
    """The outbox columns of an event."""
    return {
        "event_id": event.id,
        "topic": event.topic,
        "event_key": event.key,
        "event_type": event.type,
        "headers": headers_of(event),
        "payload": payload_bytes(event),
    }


def add_event(session: AsyncSession, event: Event) -> None:
    """Stage an event in the caller's transaction; it is published only if that commits."""
    session.add(OutboxRow(**_row(event)))


async def add_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """Stage many events with one INSERT (batch handlers, jobs, imports): a third of the CPU
    per event of `add_event`, same transaction rules. Order is kept: pending ORM rows flush first."""
    if not events:
        return
    if session.new:
        await session.flush()
    await insert_many(session, OutboxRow.__table__, [_row(e) for e in events])  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_age_seconds: float


async def backlog(conn: asyncpg.Connection | AsyncSession) -> Backlog:
    """How far behind the relay is: the relay asks on its own asyncpg connection (metrics),
    health on a request session."""
    sql = (
        "SELECT count(*) AS n, "
        "COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) AS age "
        "FROM outbox WHERE published_at IS NULL"
    )
    if isinstance(conn, asyncpg.Connection):
        row = await conn.fetchrow(sql)
        n, age = row["n"], row["age"]
    else:
        n, age = (await conn.execute(text(sql))).one()
    return Backlog(pending=int(n), oldest_age_seconds=float(age))


async def purge_expired(conn: asyncpg.Connection) -> None:
    """Forget what no one needs any more: published outbox rows after 7 days (kept that long
    to answer "was it sent?"), and Idempotency-Keys after 24 hours, the replay window the API
    promises (a retry later than that is a new request). Runs on the relay leader only."""
    await conn.execute("DELETE FROM outbox WHERE published_at < clock_timestamp() - interval '7 days'")
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < clock_timestamp() - $1::interval",
        IDEMPOTENCY_KEY_TTL,
    )


IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


class OutboxRelay:
    """Publishes a service's outbox to Kafka.

    Only one relay per schema works at a time (a PostgreSQL advisory lock elects it), so
    rows leave in id order even with several replicas of a service.
    """

    FETCH = (
        "SELECT id, topic, event_key, headers, payload FROM outbox "
        "WHERE published_at IS NULL ORDER BY id LIMIT $1"
    )
    MARK = "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])"

    def __init__(
        self,
        db: Database,
        kafka: KafkaAccess,
        *,
        service: str,
        batch_size: int = 1000,
        poll_seconds: float = 1.0,
        producer: AIOKafkaProducer | None = None,
    ) -> None:
        self.db = db
        self.kafka = kafka
        self.service = service
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._producer = producer
        self._owns_producer = producer is None
        self._conn: asyncpg.Connection | None = None
        self._wakeup = asyncio.Event()
        # Why publishing stalls, while it does (readiness reports it).
        self.outage = Outage()
        self._last_purge = 0.0
        self._last_metrics = 0.0

    async def _ensure_started(self) -> asyncpg.Connection:
        # BaseException throughout: a cancelled start must not leak a client or a connection
        # (a leaked connection would hold the relay lock).
        if self._producer is None:
            self._producer = await started_producer(self.kafka, client_id=f"{self.service}-outbox")
        if self._conn is None or self._conn.is_closed():
            conn = await self.db.connect_raw()
            try:
                locked = await conn.fetchval(
                    "SELECT pg_try_advisory_lock(hashtext($1))", f"outbox:{self.db.schema}"
                )
                if not locked:
                    raise RelayNotLeader
                await conn.add_listener(f"{self.db.schema}_outbox", lambda *_: self._wakeup.set())
            except BaseException:
                conn.terminate()
                raise
            self._conn = conn
        return self._conn

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        conn = await self._ensure_started()
        assert self._producer is not None
        rows = await conn.fetch(self.FETCH, self.batch_size)
        if not rows:
            return 0
        # `send` only enqueues (it returns the delivery future), so the whole batch goes out
        # in a few produce requests; the rows are marked once the broker acknowledged all.
        futures = []
        per_topic: Counter[str] = Counter()
        for row in rows:
            headers = [(k, str(v).encode()) for k, v in json.loads(row["headers"]).items()]
            futures.append(
                await self._producer.send(
                    row["topic"], value=row["payload"], key=row["event_key"].encode(), headers=headers
                )
            )
            per_topic[row["topic"]] += 1
        await asyncio.gather(*futures)
        await self._mark_published(conn, [row["id"] for row in rows])
        for topic, n in per_topic.items():
            metrics.EVENTS_PUBLISHED.labels(self.service, topic).inc(n)
        return len(rows)

    async def _mark_published(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        await conn.execute(self.MARK, ids)

    async def _housekeeping(self, conn: asyncpg.Connection) -> None:
        """Backlog metrics every second at most; purge of old published rows every 5 min."""
        now = time.monotonic()
        if now - self._last_metrics < 1.0:
            return
        self._last_metrics = now
        if now - self._last_purge > 300:
            self._last_purge = now
            await purge_expired(conn)
        state = await backlog(conn)
        metrics.OUTBOX_BACKLOG.labels(self.service).set(state.pending)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(state.oldest_age_seconds)

    async def run(self) -> None:
        """Publish until cancelled, surviving database and broker outages."""
        await run_forever(
            self._step,
            what="outbox relay",
            recover=self._reset_connection,
            first_delay=0.2,
            max_delay=5.0,
            outage=self.outage,
        )

    async def _step(self) -> None:
        # Cleared before the fetch: a NOTIFY that arrives during the fetch still wakes us.
        self._wakeup.clear()
        try:
            published = await self.publish_pending()
        except RelayNotLeader:
            await asyncio.sleep(self.poll_seconds * 5)
            return
        assert self._conn is not None
        await self._housekeeping(self._conn)
        if published == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)

    async def _reset_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    async def close(self) -> None:
        await self._reset_connection()
        if self._producer is not None and self._owns_producer:
            producer, self._producer = self._producer, None
            await producer.stop()


class RelayNotLeader(Exception):
    """Another replica holds the relay lock for this schema."""
