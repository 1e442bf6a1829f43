"""Kafka plumbing shared by the relay, the consumers, health and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import TopicAlreadyExistsError

from shared.events.catalogue import TOPICS, dlq_topic

log = logging.getLogger(__name__)

TOPIC_PARTITIONS = 3
# Dead letters wait for an operator (docs/runbook-dead-letters.md): their topics keep records
# 90 days instead of the broker's 7, so a letter parked before a long weekend can still be
# replayed. Set when a topic is created; an older topic keeps what it has.
DLQ_RETENTION_MS = 90 * 24 * 3600 * 1000


def make_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates from retries."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


async def started_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """A started idempotent producer. A failed or cancelled start closes it again, so no
    half-started client lingers (BaseException covers cancellation)."""
    producer = make_producer(bootstrap, client_id=client_id)
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    return producer


def all_topics() -> list[str]:
    """Every catalogue topic and its dead-letter topic."""
    return [t for topic in TOPICS for t in (topic, dlq_topic(topic))]


async def ensure_topics(bootstrap: str, topics: list[str] | None = None) -> list[str]:
    """Create missing topics (idempotent); returns the ones created."""
    wanted = topics if topics is not None else all_topics()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="revcycle-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                await admin.create_topics([_new_topic(t) for t in missing])
            except TopicAlreadyExistsError:
                pass
        return missing
    finally:
        await admin.close()


def _new_topic(name: str) -> NewTopic:
    configs = {"retention.ms": str(DLQ_RETENTION_MS)} if name.endswith(".dlq") else {}
    return NewTopic(name, num_partitions=TOPIC_PARTITIONS, replication_factor=1, topic_configs=configs)


async def broker_reachable(bootstrap: str, timeout: float) -> str | None:
    """None when a broker answers a metadata request in time; otherwise the reason.

    A fresh connection is used each time, so a cached metadata snapshot cannot hide a
    broker that has gone away.
    """
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), client_id="revcycle-health"
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return None
    except Exception as exc:  # any failure means "not reachable"; the type is the reason
        return type(exc).__name__
    finally:
        await client.close()


async def consumer_lag(bootstrap: str, group: str, topics: list[str], *, timeout: float) -> dict[str, int]:
    """How many records each topic holds past `group`'s committed offsets (summed over its
    partitions), as the broker has them: what every replica of a service still has to read,
    whichever replica reads it. A partition the group never committed on counts from the
    start of what the topic keeps (the services' consumers start at the earliest offset).
    Raises TimeoutError or a Kafka error when the broker cannot answer within `timeout`."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="revcycle-lag", request_timeout_ms=int(timeout * 1000)
    )
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="revcycle-lag",
        enable_auto_commit=False,
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
            await reader.start()
            committed = await admin.list_consumer_group_offsets(group)
            await reader._client.force_metadata_update()  # or partitions_for_topic knows nothing yet
            parts = [
                TopicPartition(t, p) for t in topics for p in sorted(reader.partitions_for_topic(t) or ())
            ]
            ends = await reader.end_offsets(parts) if parts else {}
            starts = await reader.beginning_offsets(parts) if parts else {}
    finally:
        for client in (reader.stop, admin.close):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client(), timeout)
    lag = dict.fromkeys(topics, 0)
    for tp, end in ends.items():
        meta = committed.get(tp)
        position = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
        lag[tp.topic] += max(end - position, 0)
    return lag
