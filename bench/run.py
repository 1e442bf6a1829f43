"""Event backbone benchmark: raw PostgreSQL and Kafka baselines against the real outbox → consumer path.

`python -m bench.run [--events N]` (or `make bench`) measures, in one run:

  A. raw asyncpg: `BEGIN; INSERT one row; COMMIT` transactions/s at a small fixed concurrency;
  B. raw aiokafka: produce → consume messages/s (acks=all, idempotent, batching producer) for
     messages of the same size and headers as the end-to-end events;
  C. end to end: a writer commits N events through `shared.outbox.add_events`, the real
     `OutboxRelay` publishes them, the real `EventConsumer` applies them (one effect row per
     event in its transaction). Events/s and commit → effect latency percentiles.

It prints a table with the ratios C÷B and C÷A and whether the 5,000 events/s target was met,
and writes the same figures to bench/results/latest.json. It reports and never judges: no
timing assertion, exit status 0 whenever it ran.

Isolation: everything lives in its own schema (`bench`, dropped and recreated each run), its
own event type and topic (`bench.ping.<runid>`, registered in the catalogue at runtime only)
and its own consumer group, so running services and tests are not disturbed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import random
import resource
import sys
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.common import admin_kafka
from deploy import infra
from shared import context
from shared.config import asyncpg_dsn
from shared.consumer import EventConsumer
from shared.db import Database
from shared.events import catalogue
from shared.events.catalogue import EventSpec, Id, Money, Payload
from shared.events.envelope import Event, encode, new_event
from shared.kafka import TOPIC_PARTITIONS, KafkaAccess, client_kwargs, ensure_topics
from shared.outbox import OutboxRelay, add_events
from shared.tables import BACKBONE_DDL

SCHEMA = "bench"
TARGET_EVENTS_PER_SECOND = 5000
RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"

BENCH_DDL = [
    # Baseline A writes here: one short row per transaction.
    "CREATE TABLE raw_tx (id bigserial PRIMARY KEY, payload text NOT NULL, "
    "created_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    # The consumer's effect: one row per event, in the consumer's transaction.
    "CREATE TABLE bench_effect (event_id uuid PRIMARY KEY, account_id text NOT NULL, seq bigint NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT clock_timestamp())",
]

EFFECT_INSERT = text("INSERT INTO bench_effect (event_id, account_id, seq) VALUES (:id, :account, :seq)")


class BenchEffect(SQLModel, table=True):
    """The consumer's effect row (see BENCH_DDL for the table itself)."""

    __tablename__ = "bench_effect"

    event_id: uuid.UUID = Field(primary_key=True)
    account_id: str
    seq: int


class BenchPing(Payload):
    """A synthetic event shaped like payment.posted (about 250 bytes of JSON)."""

    ping_id: uuid.UUID
    account_id: Id
    seq: int
    amount: Money
    method: Literal["card"] = "card"
    note: str
    posted_at: datetime


# --- set-up and tear-down ----------------------------------------------------------------


def register_event_type(run_id: str) -> EventSpec:
    """Put the bench's event type in the catalogue of this process only, on a per-run topic.

    The catalogue is the one place envelope encoding and decoding look types up, so the
    real relay and consumer handle the bench event exactly as they handle a real one.
    """
    topic = f"bench.ping.{run_id}"
    spec = EventSpec(
        type=f"{topic}.v1",
        topic=topic,
        payload=BenchPing,
        key_fields=("account_id",),
        publisher="bench",
        consumers=("bench",),
        summary="Synthetic benchmark event.",
    )
    catalogue.CATALOGUE[spec.type] = spec
    catalogue._BY_PAYLOAD[BenchPing] = spec
    return spec


def unregister_event_type(spec: EventSpec) -> None:
    catalogue.CATALOGUE.pop(spec.type, None)
    catalogue._BY_PAYLOAD.pop(BenchPing, None)


async def create_schema(admin_dsn: str) -> None:
    """A fresh `bench` schema with the same backbone tables every service has."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await conn.execute(f"CREATE SCHEMA {SCHEMA}")
        await conn.execute(f"SET search_path = {SCHEMA}")
        for ddl in [*BACKBONE_DDL, *BENCH_DDL]:
            await conn.execute(ddl)
    finally:
        await conn.close()


async def drop_schema(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()


async def delete_topics(bootstrap: KafkaAccess, prefixes: list[str], group_id: str | None) -> list[str]:
    """Remove this run's topics (and its consumer group) so runs do not pile up on the broker."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap), client_id="revcycle-bench")
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if any(t.startswith(p) for p in prefixes)]
        if doomed:
            await admin.delete_topics(doomed)
        if group_id is not None:
            with contextlib.suppress(Exception):
                await admin.delete_consumer_groups([group_id])
        return doomed
    finally:
        await admin.close()


def make_ping(seq: int, accounts: int) -> BenchPing:
    return BenchPing(
        ping_id=uuid.uuid4(),
        account_id=f"acct-{random.randrange(accounts):05d}",
        seq=seq,
        amount=Decimal("125.00"),
        note="benchmark event; synthetic, no patient data",
        posted_at=datetime.now(UTC),
    )


# --- statistics --------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(len(sorted_values) * q / 100))
    return sorted_values[rank - 1]


T = TypeVar("T")


async def cpu_of(work: Callable[[], Awaitable[T]]) -> tuple[T, float, float]:
    """Run `work`; also return its wall time and this process's CPU seconds meanwhile.

    CPU near wall time means the Python process (one core) was the limit, not the servers.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.monotonic()
    result = await work()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return result, time.monotonic() - wall0, usage.ru_utime + usage.ru_stime - cpu0


# --- A: raw asyncpg ----------------------------------------------------------------------


@dataclass
class PostgresBaseline:
    concurrency: int
    seconds: float
    transactions: int
    tx_per_second: float


async def baseline_postgres(admin_dsn: str, *, seconds: float, concurrency: int) -> PostgresBaseline:
    """Single-row transactions as fast as `concurrency` connections can commit them."""
    conns = [
        await asyncpg.connect(admin_dsn, server_settings={"search_path": SCHEMA}) for _ in range(concurrency)
    ]
    payload = "x" * 200
    counts = [0] * concurrency
    try:
        # Warm up: the INSERT is prepared once per connection, outside the timed window.
        for conn in conns:
            async with conn.transaction():
                await conn.execute("INSERT INTO raw_tx (payload) VALUES ($1)", payload)
        start = time.monotonic()
        stop = start + seconds

        async def worker(i: int) -> None:
            conn = conns[i]
            while time.monotonic() < stop:
                async with conn.transaction():  # BEGIN ... COMMIT: three round trips
                    await conn.execute("INSERT INTO raw_tx (payload) VALUES ($1)", payload)
                counts[i] += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.monotonic() - start
    finally:
        for conn in conns:
            await conn.close()
    total = sum(counts)
    return PostgresBaseline(concurrency, round(elapsed, 3), total, round(total / elapsed, 1))


# --- B: raw aiokafka ---------------------------------------------------------------------


@dataclass
class KafkaBaseline:
    messages: int
    message_bytes: int
    header_bytes: int
    partitions: int
    seconds: float
    produce_seconds: float
    msgs_per_second: float
    producer: dict[str, Any]


RAW_PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "max_batch_size": 256 * 1024,
}


async def baseline_kafka(
    bootstrap: KafkaAccess, topic: str, messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> KafkaBaseline:
    """Produce every message (without waiting on each) while a plain consumer reads them all.

    Timed from the first send to the last message received, so it is the same span the
    end-to-end figure covers, minus PostgreSQL.
    """
    await ensure_topics(bootstrap, [topic])
    consumer = AIOKafkaConsumer(
        **client_kwargs(bootstrap), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(**client_kwargs(bootstrap), client_id="bench-raw", **RAW_PRODUCER_CONFIG)
    await consumer.start()
    await producer.start()
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        n = len(messages)
        received = 0
        last_at = 0.0

        async def consume() -> None:
            nonlocal received, last_at
            while received < n:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batch.values():
                    received += len(records)
                    last_at = time.monotonic()

        reader = asyncio.create_task(consume())
        await asyncio.sleep(0.5)  # the reader's first fetch is in flight before the clock starts
        start = time.monotonic()
        futures = [await producer.send(topic, value=v, key=k, headers=h) for k, v, h in messages]
        await asyncio.gather(*futures)
        produced = time.monotonic() - start
        await asyncio.wait_for(reader, timeout=max(60.0, n / 1000))
        elapsed = last_at - start
    finally:
        await producer.stop()
        await consumer.stop()
    key, value, headers = messages[0]
    return KafkaBaseline(
        messages=n,
        message_bytes=len(key) + len(value),
        header_bytes=sum(len(k) + len(v) for k, v in headers),
        partitions=len(partitions),
        seconds=round(elapsed, 3),
        produce_seconds=round(produced, 3),
        msgs_per_second=round(n / elapsed, 1),
        producer=RAW_PRODUCER_CONFIG,
    )


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of a topic just created (metadata can lag creation briefly)."""
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no metadata for topic {topic}")


# --- C: end to end -----------------------------------------------------------------------


class TimedConsumer(EventConsumer):
    """The real consumer, noting when each event's effect became durable.

    `_handle_batch` runs one database transaction and returns only after it committed, so
    the time taken right after it returns is the effect's commit time (the Kafka offset
    commit that follows is not included: it does not make the effect any more durable).
    """

    def __init__(
        self, *args: Any, effect_times: dict[uuid.UUID, float], expected: int, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.effect_times = effect_times
        self.expected = expected
        self.drained = asyncio.Event()
        self.transactions = 0

    async def _handle_batch(self, events: list[tuple[ConsumerRecord, Event]]) -> None:
        await super()._handle_batch(events)
        now = time.monotonic()
        self.transactions += 1
        for _, event in events:
            self.effect_times.setdefault(event.id, now)
        if len(self.effect_times) >= self.expected:
            self.drained.set()


class CountingRelay(OutboxRelay):
    """The real relay, counting its non-empty batches (how well it batches under this load)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches = 0

    async def publish_pending(self) -> int:
        published = await super().publish_pending()
        if published:
            self.batches += 1
        return published


async def apply_ping_orm(session: AsyncSession, event: Event) -> None:
    """The effect as the services write theirs: an ORM row added to the consumer's session.

    SQLAlchemy flushes the batch's rows together when the consumer's transaction commits.
    """
    data = event.data
    assert isinstance(data, BenchPing)
    session.add(BenchEffect(event_id=event.id, account_id=data.account_id, seq=data.seq))


async def apply_ping_sql(session: AsyncSession, event: Event) -> None:
    """The effect as one INSERT statement per event (a round trip each): the slow extreme."""
    data = event.data
    assert isinstance(data, BenchPing)
    await session.execute(EFFECT_INSERT, {"id": event.id, "account": data.account_id, "seq": data.seq})


HANDLERS: dict[str, Callable[[AsyncSession, Event], Awaitable[None]]] = {
    "orm": apply_ping_orm,
    "sql": apply_ping_sql,
}


@dataclass
class EndToEnd:
    events: int
    tx_size: int
    partitions: int
    writer_rate_limit: float | None
    completed: int
    seconds: float
    events_per_second: float
    writer_seconds: float
    writer_events_per_second: float
    latency_ms: dict[str, float]
    bench_process_cpu_seconds: float
    bench_process_cpu_share: float  # CPU seconds per wall second: 1.0 is one core saturated
    effects_in_db: int
    inbox_rows: int
    outbox_pending: int
    relay_batch_size: int
    consumer_batch_size: int
    handler: str
    relay_batches: int
    consumer_transactions: int
    notes: list[str] = field(default_factory=list)


async def write_events(
    db: Database,
    *,
    n: int,
    tx_size: int,
    rate: float | None,
    accounts: int,
    commit_times: dict[uuid.UUID, float],
) -> None:
    """A busy service: transactions of `tx_size` events each, back to back (or paced at `rate`).

    Each event's commit time is taken right after its transaction's COMMIT returned.
    """
    start = time.monotonic()
    written = 0
    while written < n:
        count = min(tx_size, n - written)
        context.start()  # like one request: its events share a correlation id
        events = [new_event(make_ping(written + i, accounts), source="/bench") for i in range(count)]
        async with db.session() as session, session.begin():
            await add_events(session, events)
        now = time.monotonic()
        for event in events:
            commit_times[event.id] = now
        written += count
        if rate:
            ahead = start + written / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)


async def end_to_end(
    admin_url: str,
    bootstrap: KafkaAccess,
    spec: EventSpec,
    *,
    n: int,
    tx_size: int,
    rate: float | None,
    group_id: str,
    relay_batch: int,
    consumer_batch: int,
    handler: str,
    timeout: float,
) -> EndToEnd:
    """Writer → outbox → OutboxRelay → Kafka → EventConsumer → effect, all real, all at once."""
    await ensure_topics(bootstrap, [spec.topic])
    # Two engines, as two services would have: the writer's and the consumer's.
    writer_db = Database(admin_url, SCHEMA, pool_size=2, application_name="bench-writer")
    consumer_db = Database(admin_url, SCHEMA, pool_size=2, application_name="bench-consumer")
    commit_times: dict[uuid.UUID, float] = {}
    effect_times: dict[uuid.UUID, float] = {}
    relay = CountingRelay(writer_db, bootstrap, service="bench", batch_size=relay_batch, poll_seconds=1.0)
    consumer = TimedConsumer(
        consumer_db,
        bootstrap,
        service="bench",
        group_id=group_id,
        handlers={spec.topic: HANDLERS[handler]},
        batch_size=consumer_batch,
        effect_times=effect_times,
        expected=n,
    )
    tasks: list[asyncio.Task[None]] = []
    notes: list[str] = []
    try:
        await relay.publish_pending()  # connects, takes the relay lock, starts the producer
        tasks.append(asyncio.create_task(relay.run(), name="bench-relay"))
        tasks.append(asyncio.create_task(consumer.run(), name="bench-consumer"))
        await asyncio.wait_for(consumer.assigned.wait(), timeout=30)

        async def pipeline() -> float:
            """Write everything, then wait for the last effect; returns the writer's own time."""
            started = time.monotonic()
            await write_events(
                writer_db, n=n, tx_size=tx_size, rate=rate, accounts=1000, commit_times=commit_times
            )
            writer_done = time.monotonic() - started
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(consumer.drained.wait(), timeout)
            return writer_done

        writer_seconds, wall, cpu = await cpu_of(pipeline)
        effects, inbox, pending = await _check(writer_db, group_id)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await relay.close()
        await consumer.close()
        await writer_db.dispose()
        await consumer_db.dispose()

    first_commit = min(commit_times.values())
    done = [effect_times[i] - commit_times[i] for i in commit_times if i in effect_times]
    completed = len(done)
    if completed < n:
        notes.append(f"only {completed} of {n} effects within {timeout:.0f}s; figures cover those")
    if rate:
        notes.append(f"writer paced at {rate:,.0f} events/s: throughput shows the pacing, not the capacity")
    last_effect = max(effect_times.values()) if effect_times else first_commit
    seconds = last_effect - first_commit
    latencies = sorted(done)

    return EndToEnd(
        events=n,
        tx_size=tx_size,
        partitions=TOPIC_PARTITIONS,
        writer_rate_limit=rate,
        completed=completed,
        seconds=round(seconds, 3),
        events_per_second=round(completed / seconds, 1) if seconds > 0 else 0.0,
        writer_seconds=round(writer_seconds, 3),
        writer_events_per_second=round(n / writer_seconds, 1),
        latency_ms={
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p99": round(percentile(latencies, 99) * 1000, 1),
            "max": round(latencies[-1] * 1000, 1) if latencies else float("nan"),
        },
        bench_process_cpu_seconds=round(cpu, 2),
        bench_process_cpu_share=round(cpu / wall, 2),
        effects_in_db=effects,
        inbox_rows=inbox,
        outbox_pending=pending,
        relay_batch_size=relay_batch,
        consumer_batch_size=consumer_batch,
        handler=handler,
        relay_batches=relay.batches,
        consumer_transactions=consumer.transactions,
        notes=notes,
    )


async def _check(db: Database, group_id: str) -> tuple[int, int, int]:
    """What the database says: distinct effects, inbox rows of the group, unpublished rows."""
    conn = await db.connect_raw()
    try:
        effects = await conn.fetchval("SELECT count(DISTINCT event_id) FROM bench_effect")
        inbox = await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer_group = $1", group_id)
        pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    finally:
        await conn.close()
    return int(effects), int(inbox), int(pending)


# --- report ------------------------------------------------------------------------------


def report(
    meta: dict[str, Any], a: PostgresBaseline | None, b: KafkaBaseline | None, c: EndToEnd
) -> dict[str, Any]:
    """Print the table and return the same figures for the JSON file."""
    ratio_kafka = c.events_per_second / b.msgs_per_second if b else None
    ratio_pg = c.events_per_second / a.tx_per_second if a else None
    met = c.events_per_second >= TARGET_EVENTS_PER_SECOND and c.completed == c.events
    width = 100
    lines = [
        "=" * width,
        f"revcycle event backbone benchmark  run {meta['run_id']}  {meta['started_at']}",
        f"{meta['cpus']} CPUs shared with PostgreSQL and Kafka (load {meta['load_average_1m']} at start); "
        f"Python {meta['python']}, {meta['event_loop']}",
        "one Python process runs writer, relay and consumer (C), as tasks on one event loop",
        f"PostgreSQL {meta['postgresql']['server_version']}, synchronous_commit="
        f"{meta['postgresql']['synchronous_commit']}, fsync={meta['postgresql']['fsync']}",
        "-" * width,
        f"{'measurement':<58}{'result':>24}",
        "-" * width,
    ]
    if a:
        lines.append(
            f"{'A  raw asyncpg  BEGIN; INSERT 1 row; COMMIT':<58}{a.tx_per_second:>16,.0f} tx/s"
            f"\n   {a.concurrency} connections, {a.seconds:.1f} s, {a.transactions:,} transactions"
        )
    if b:
        lines.append(
            f"{'B  raw aiokafka  produce → consume':<58}{b.msgs_per_second:>15,.0f} msg/s"
            f"\n   {b.messages:,} msgs, {b.message_bytes} B key+value + {b.header_bytes} B headers, "
            f"{b.partitions} partitions, acks=all, idempotent, linger {b.producer['linger_ms']} ms;"
            f"\n   first send → last consumed {b.seconds:.2f} s (all acked after {b.produce_seconds:.2f} s)"
        )
    lines += [
        f"{'C  end to end   outbox → relay → Kafka → consumer':<58}{c.events_per_second:>13,.0f} events/s",
        f"   {c.completed:,}/{c.events:,} events in transactions of {c.tx_size}, {c.partitions} partitions, "
        f"first commit → last effect {c.seconds:.2f} s",
        f"   latency commit → effect committed: p50 {c.latency_ms['p50']:,.0f} ms, "
        f"p99 {c.latency_ms['p99']:,.0f} ms, max {c.latency_ms['max']:,.0f} ms"
        + ("" if c.writer_rate_limit else " (unpaced writer: includes queueing)"),
        f"   writer alone committed {c.writer_events_per_second:,.0f} events/s "
        f"({'paced at ' + format(c.writer_rate_limit, ',.0f') + '/s' if c.writer_rate_limit else 'unpaced'});"
        f" bench process {c.bench_process_cpu_share:.0%} of one core",
        f"   relay: {c.relay_batches:,} batches (≤ {c.relay_batch_size}), "
        f"avg {c.events / max(c.relay_batches, 1):,.0f} rows; consumer: {c.consumer_transactions:,} "
        f"transactions (≤ {c.consumer_batch_size}), avg {c.completed / max(c.consumer_transactions, 1):,.0f} "
        f"events; effect via {c.handler}",
        f"   check: {c.effects_in_db:,} effect rows, {c.inbox_rows:,} inbox rows, "
        f"{c.outbox_pending:,} outbox rows pending",
        "-" * width,
    ]
    if ratio_kafka is not None:
        lines.append(f"{'C ÷ B  end-to-end events/s ÷ raw Kafka msg/s':<58}{ratio_kafka:>24.3f}")
    if ratio_pg is not None:
        lines.append(f"{'C ÷ A  end-to-end events/s ÷ raw asyncpg tx/s':<58}{ratio_pg:>24.3f}")
    verdict = "MET" if met else "NOT MET"
    lines.append(f"{f'target ≥ {TARGET_EVENTS_PER_SECOND:,} events/s end to end':<58}{verdict:>24}")
    lines += [f"note: {note}" for note in c.notes]
    lines.append("=" * width)
    print("\n".join(lines), flush=True)
    return {
        **meta,
        "baseline_asyncpg": asdict(a) if a else None,
        "baseline_kafka": asdict(b) if b else None,
        "end_to_end": asdict(c),
        "ratios": {"end_to_end_over_raw_kafka": ratio_kafka, "end_to_end_over_raw_asyncpg": ratio_pg},
        "target_events_per_second": TARGET_EVENTS_PER_SECOND,
        "target_met": met,
    }


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events end to end (default 50000)")
    parser.add_argument("--tx-size", type=int, default=200, help="events per writer transaction (200)")
    parser.add_argument("--rate", type=float, default=0, help="pace the writer at N events/s (0: unpaced)")
    parser.add_argument("--relay-batch", type=int, default=1000, help="OutboxRelay batch_size (1000)")
    parser.add_argument("--consumer-batch", type=int, default=1000, help="EventConsumer batch_size (1000)")
    parser.add_argument(
        "--handler",
        choices=sorted(HANDLERS),
        default="orm",
        help="effect written with session.add like the services (orm, default) or one INSERT per event (sql)",
    )
    parser.add_argument("--kafka-messages", type=int, default=0, help="messages for B (default: --events)")
    parser.add_argument("--pg-seconds", type=float, default=3.0, help="duration of A (3 s)")
    parser.add_argument("--pg-concurrency", type=int, default=4, help="connections for A (4)")
    parser.add_argument("--skip-baselines", action="store_true", help="run only C (for quick iterations)")
    parser.add_argument("--timeout", type=float, default=0, help="max wait for C to drain (s)")
    parser.add_argument("--keep-schema", action="store_true", help="leave the bench schema for inspection")
    parser.add_argument(
        "--profile", metavar="FILE", help="profile C with pyinstrument (if installed) into FILE (.html/.txt)"
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.tx_size < 1:
        parser.error("--events and --tx-size must be at least 1")
    return args


async def main_async(args: argparse.Namespace, event_loop: str) -> dict[str, Any]:
    admin_url = infra.ensure_postgres()
    bootstrap = admin_kafka(infra.ensure_kafka())
    admin_dsn = asyncpg_dsn(admin_url)
    run_id = uuid.uuid4().hex[:8]
    # One bench at a time: a second run would drop the first one's schema and could never
    # take the `bench` relay lock. Held on this connection for the whole run.
    guard = await asyncpg.connect(admin_dsn)
    if not await guard.fetchval("SELECT pg_try_advisory_lock(hashtext('revcycle:bench'))"):
        await guard.close()
        raise BenchBusy("another bench run holds the bench lock; try again when it has finished")
    meta = {
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "event_loop": event_loop,
        "kafka": bootstrap.bootstrap,
        "database": infra.redact_url(admin_url),
        "postgresql": {
            name: await guard.fetchval(f"SHOW {name}")
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        },
    }
    spec = register_event_type(run_id)
    raw_topic = f"bench.raw.{run_id}"
    group_id = f"bench-{run_id}"
    try:
        await create_schema(admin_dsn)
        a = b = None
        if not args.skip_baselines:
            print(f"A: raw asyncpg, {args.pg_concurrency} connections, {args.pg_seconds:g} s ...", flush=True)
            a = await baseline_postgres(admin_dsn, seconds=args.pg_seconds, concurrency=args.pg_concurrency)
            n_raw = args.kafka_messages or args.events
            print(f"B: raw aiokafka, {n_raw:,} messages ...", flush=True)
            sample = [encode(new_event(make_ping(i, 1000), source="/bench")) for i in range(n_raw)]
            b = await baseline_kafka(bootstrap, raw_topic, [(k, v, h) for _, k, v, h in sample])
            del sample
        print(f"C: end to end, {args.events:,} events in transactions of {args.tx_size} ...", flush=True)
        timeout = args.timeout or max(120.0, args.events / 500)
        profiler = _start_profiler(args.profile)
        c = await end_to_end(
            admin_url,
            bootstrap,
            spec,
            n=args.events,
            tx_size=args.tx_size,
            rate=args.rate or None,
            group_id=group_id,
            relay_batch=args.relay_batch,
            consumer_batch=args.consumer_batch,
            handler=args.handler,
            timeout=timeout,
        )
        _stop_profiler(profiler, args.profile)
        results = report(meta, a, b, c)
    finally:
        unregister_event_type(spec)
        with contextlib.suppress(Exception):
            await delete_topics(bootstrap, [spec.topic, raw_topic], group_id)
        if not args.keep_schema:
            await drop_schema(admin_dsn)
        await guard.close()
    return results


class BenchBusy(Exception):
    """Another bench run is in progress."""


def _start_profiler(target: str | None) -> Any:
    if not target:
        return None
    try:
        from pyinstrument import Profiler  # investigation aid only; not a project dependency
    except ImportError:
        print("pyinstrument is not installed; --profile ignored", file=sys.stderr)
        return None
    profiler = Profiler(async_mode="enabled")
    profiler.start()
    return profiler


def _stop_profiler(profiler: Any, target: str | None) -> None:
    if profiler is None or not target:
        return
    profiler.stop()
    output = profiler.output_html() if target.endswith(".html") else profiler.output_text(unicode=True)
    Path(target).write_text(output)
    print(f"profile written to {target}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # sqlmodel nudges towards exec() for every execute(); raw SQL through execute() is intended.
    warnings.filterwarnings("ignore", message=r"[\s\S]*You probably want to use `session.exec")
    # The services run under uvicorn, which uses uvloop when it is installed; so does the bench.
    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
        event_loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        runner, event_loop = asyncio.run, "asyncio"
    try:
        results = runner(main_async(args, event_loop))
    except BenchBusy as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"figures written to {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
