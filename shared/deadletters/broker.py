"""The dead letters' Kafka side: reading the dead-letter topics (new records to index, or the
records at given places) and sending records back to their original topics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.deadletters.domain import original_headers
from shared.kafka import KafkaAccess, client_kwargs, started_producer

Place = tuple[str, int, int]  # (dead-letter topic, partition, offset)
READ_SECONDS = 30.0


async def read_new(
    kafka: KafkaAccess, topics: Sequence[str], start: dict[tuple[str, int], int]
) -> tuple[list[ConsumerRecord], dict[tuple[str, int], int]]:
    """The records of `topics` from `start` ((topic, partition) -> offset; the beginning where
    not given) up to the end offsets at the time of the call, and those end offsets."""
    async with _reader(kafka) as consumer:
        partitions = await _partitions(consumer, topics)
        if not partitions:
            return [], {}
        ends = await consumer.end_offsets(partitions)
        begins = await consumer.beginning_offsets(partitions)
        wanted = {}
        for tp in partitions:
            first = max(start.get((tp.topic, tp.partition), 0), begins[tp])
            if ends[tp] > first:
                wanted[tp] = (first, ends[tp])
        records = await _read_ranges(consumer, wanted)
        return records, {(tp.topic, tp.partition): ends[tp] for tp in partitions}


async def read_at(kafka: KafkaAccess, places: Sequence[Place]) -> dict[Place, ConsumerRecord]:
    """The records at these places; a place the topic no longer holds (past its retention) is
    left out of the answer."""
    by_partition: dict[TopicPartition, list[int]] = {}
    for topic, partition, offset in places:
        by_partition.setdefault(TopicPartition(topic, partition), []).append(offset)
    async with _reader(kafka) as consumer:
        await _partitions(consumer, sorted({tp.topic for tp in by_partition}))
        begins = await consumer.beginning_offsets(list(by_partition))
        ends = await consumer.end_offsets(list(by_partition))
        wanted = {}
        for tp, offsets in by_partition.items():
            first, last = max(min(offsets), begins[tp]), min(max(offsets) + 1, ends[tp])
            if last > first:
                wanted[tp] = (first, last)
        records = await _read_ranges(consumer, wanted)
    found = {(r.topic, r.partition, r.offset): r for r in records}
    return {place: found[place] for place in places if place in found}


async def send_back(kafka: KafkaAccess, items: Sequence[tuple[str, Any]], *, client_id: str) -> None:
    """Send each (original topic, dead-letter record) to its original topic with its original
    key, value and headers (without the dead-letter ones), and wait until the broker has all."""
    if not items:
        return
    producer = await started_producer(kafka, client_id=client_id)
    try:
        futures = [
            await producer.send(
                topic, value=record.value, key=record.key, headers=original_headers(record.headers)
            )
            for topic, record in items
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def _reader(kafka: KafkaAccess) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group (it commits nothing), stopped afterwards."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(kafka),
        enable_auto_commit=False,
        client_id="revcycle-dead-letters",
        request_timeout_ms=int(READ_SECONDS * 1000),
    )
    try:
        await consumer.start()
        # Let the client's background task start: aiokafka's stop() raises CancelledError for
        # a task cancelled before it ever ran (a consumer stopped right after its start).
        await asyncio.sleep(0)
        yield consumer
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # or partitions_for_topic knows nothing yet
    return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]


async def _read_ranges(
    consumer: AIOKafkaConsumer, wanted: dict[TopicPartition, tuple[int, int]]
) -> list[ConsumerRecord]:
    """Records in [first, end) of each partition. Gives up (TimeoutError) if the broker does
    not deliver them within READ_SECONDS."""
    if not wanted:
        return []
    consumer.assign(list(wanted))
    for tp, (first, _) in wanted.items():
        consumer.seek(tp, first)
    records: list[ConsumerRecord] = []
    open_ = {tp: end for tp, (_, end) in wanted.items()}
    async with asyncio.timeout(READ_SECONDS):
        while open_:
            batch = await consumer.getmany(*open_, timeout_ms=1000)
            for tp, recs in batch.items():
                records += [r for r in recs if r.offset < open_.get(tp, 0)]
            for tp in list(open_):
                if await consumer.position(tp) >= open_[tp]:
                    del open_[tp]
                    consumer.pause(tp)
    return records
