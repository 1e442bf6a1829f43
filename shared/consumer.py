"""Idempotent event consumers: transient failures pause, poison goes to a dead-letter topic.

Each record's effect and its inbox row (consumer group, event id) commit in one database
transaction, and the Kafka offset is committed only after that (auto-commit is off). A
redelivered event finds its inbox row and is skipped, so its effect happens once.

Records are handled in batches, one per poll across the assigned partitions: one
transaction and one offset commit for the whole batch when it succeeds. Within a batch the
fresh events are grouped by topic (topics in order of first appearance, each topic's events
in record order); a handler marked `batched` gets its topic's whole group in one call, so it
can read and write for all of them in a few statements instead of a few per event.

Failures are of two kinds (`shared.retry.transient` tells them apart):
- *Transient*: the database or the broker is away, a transaction lost a race (serialization,
  deadlock) or timed out. Nothing is wrong with the event, so nothing is dead-lettered: the
  consumer rewinds to the poll's first records, commits nothing, and tries the poll again
  with capped backoff until the dependency is back; readiness says why it paused. A record
  busy or timing out alone `transient_limit` rounds while the database answers is poison.
- *Poison*: the event can never succeed. It breaks its schema (`InvalidEvent`), a handler
  refuses it for a business rule (`PermanentError`), or a handler keeps failing otherwise
  while the database answers. A failed batch is rolled back and replayed one record at a
  time, each with bounded retries; one that still fails goes to `<topic>.dlq` with headers
  saying why (`dlq_reason`: schema, rule or error; see `shared.deadletters`).
Order per key is kept because records are handled in partition order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import context, metrics
from shared.config import get_settings
from shared.db import Database
from shared.deadletters.domain import dead_letter_headers, dlq_headers as dlq_headers
from shared.events.catalogue import dlq_topic
from shared.events.envelope import Event, InvalidEvent, decode, records_of as records_of
from shared.events.signing import PartnerKeys
from shared.kafka import KafkaAccess, client_kwargs, started_producer
from shared.retry import Outage, Strikes, attributable, backoff, run_forever, transient

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Event], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A handler that takes every fresh event of its topic in a poll at once.

    Use it where per-event round trips dominate (a lookup per event becomes one `= ANY(...)`
    query). It must give each event the effect a per-event handler would, in order: the
    events of one call may repeat a business key (two encounters with one id), and the
    consumer replays a failed batch one event at a time (a call with a single event).
    Iterate with `in_context(events)` so what each event causes carries its correlation id."""

    handle: BatchHandler


def in_context(events: Sequence[Event]) -> Iterator[Event]:
    """Each event, with its correlation id and trace made current while the caller handles it
    (events created meanwhile carry them), as the consumer does for a per-event handler."""
    for event in events:
        context.start(event.correlation_id, event.traceparent)
        yield event


def batched(handler: BatchHandler) -> Batched:
    """Mark `handler` as a batch handler (see Batched)."""
    return Batched(handler)


INBOX_INSERT = text(
    "INSERT INTO inbox (consumer_group, event_id, topic, event_type) "
    "SELECT :group, e.id, e.topic, e.type FROM unnest(CAST(:ids AS uuid[]), CAST(:topics AS text[]), "
    "CAST(:types AS text[])) AS e(id, topic, type) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


class EventConsumer:
    """Consumes the topics a service subscribes to and runs its handlers exactly once each."""

    def __init__(
        self,
        db: Database,
        kafka: KafkaAccess,
        *,
        service: str,
        handlers: dict[str, Handler | Batched],
        group_id: str | None = None,
        batch_size: int = 1000,
        max_attempts: int = 3,
        retry_base_seconds: float = 0.2,
        pause_max_seconds: float = 10.0,
        transient_limit: int = 10,
        dlq_producer: AIOKafkaProducer | None = None,
        partner_keys: PartnerKeys | None = None,
    ) -> None:
        self.db = db
        self.kafka = kafka
        # Partner events must verify against these before any handler sees them (default: the
        # keys PARTNER_KEYS_DIR names; none there refuses every partner event).
        self.partner_keys = partner_keys or PartnerKeys.from_dir(get_settings().partner_keys_dir)
        self.service = service
        self.handlers = handlers
        self.group_id = group_id or service
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.pause_max_seconds = pause_max_seconds
        self.transient_limit = transient_limit
        # Why consumption is paused, while it is (readiness reports it).
        self.outage = Outage()
        # Parked records not committed yet (a poll tried again after a pause skips them), and
        # whether the last failure was a pause (the client stays).
        self._parked: set[tuple[str, int, int]] = set()
        self._strikes: Strikes[tuple[str, int, int]] = Strikes(transient_limit)  # see _strike
        self._paused = False
        self._producer = dlq_producer
        self._owns_producer = dlq_producer is None
        self._consumer: AIOKafkaConsumer | None = None
        # Set once the group has given this consumer partitions (benchmarks wait for it).
        self.assigned = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------

    async def _ensure_started(self) -> AIOKafkaConsumer:
        if self._producer is None:
            self._producer = await started_producer(self.kafka, client_id=f"{self.service}-dlq")
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                *self.handlers,
                **client_kwargs(self.kafka),
                group_id=self.group_id,
                client_id=f"{self.service}-consumer",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self.batch_size,
                isolation_level="read_committed",
            )
            # A consumer left half-started would stay in the group and stall every rebalance.
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def run(self) -> None:
        """Consume until cancelled, surviving broker and database outages: a paused poll is
        tried again after capped backoff (0.5 s doubling up to `pause_max_seconds`)."""
        await run_forever(
            self._poll_once,
            what="consumer",
            recover=self._recover,
            first_delay=0.5,
            max_delay=self.pause_max_seconds,
            outage=self.outage,
        )

    async def _poll_once(self) -> bool:
        """One poll handled and committed; False when it brought nothing (an idle poll says
        nothing about whether the database is back)."""
        consumer = await self._ensure_started()
        batches = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
        if consumer.assignment():
            self.assigned.set()
        if not batches:
            return False
        # Every partition of the poll in one go: one database transaction and one offset
        # commit, instead of one of each per partition.
        try:
            await self.process([record for records in batches.values() for record in records])
        except Paused:
            # Nothing of this poll is committed: the next poll fetches the same records (what
            # was handled meanwhile is skipped by the inbox, what was parked by `_parked`).
            self._paused = True
            for tp, records in batches.items():
                # (a partition revoked meanwhile cannot seek; its new owner starts from the commit)
                with contextlib.suppress(Exception):
                    consumer.seek(tp, records[0].offset)
            raise
        offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
        await consumer.commit(offsets)
        self._parked = {(t, p, o) for t, p, o in self._parked if o >= offsets.get(TopicPartition(t, p), 0)}
        self._strikes.retain(lambda k: k[2] >= offsets.get(TopicPartition(*k[:2]), 0))
        for tp, next_offset in offsets.items():
            metrics.record_lag(self.service, tp.topic, tp.partition, consumer.highwater(tp), next_offset)
        return True

    async def _recover(self) -> None:  # a paused client stays (rewound); else it is made again
        if not self._paused:
            await self._stop_consumer()
        self._paused = False

    async def _stop_consumer(self) -> None:
        # Uncommitted work is redelivered after the restart; the inbox makes that harmless.
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                await consumer.stop()
            except Exception as exc:
                log.debug("consumer stop failed", extra={"error_type": type(exc).__name__})

    async def close(self) -> None:
        await self._stop_consumer()
        if self._producer is not None and self._owns_producer:
            producer, self._producer = self._producer, None
            await producer.stop()

    # --- processing -------------------------------------------------------------------

    async def process(self, records: list[ConsumerRecord]) -> None:
        """Handle one poll's records: all in one transaction, or record by record. Records keep
        their order within each partition, which is all the order Kafka has."""
        events: list[tuple[ConsumerRecord, Event]] = []
        broken: list[tuple[ConsumerRecord, str]] = []
        for record in records:
            if (record.topic, record.partition, record.offset) in self._parked:
                continue
            try:  # a partner's signature first: nothing of an unproven event is parsed
                self.partner_keys.verify(record.topic, record.key, record.value, record.headers)
                events.append((record, decode(record.topic, record.key, record.value, record.headers)))
            except InvalidEvent as exc:
                broken.append((record, f"schema: {exc}"))
        # Parked together (one produce round trip, not one per record), so a flood of forged or
        # broken records cannot slow consumption to a record per round trip.
        parking = (self.dead_letter(r, why, attempts=1, reason="schema") for r, why in broken)
        for failed in await asyncio.gather(*parking, return_exceptions=True):
            if isinstance(failed, BaseException):
                raise failed  # (all have finished: a retried poll skips those parked)
        if not events:
            return
        try:
            await self._handle_batch(events)
            return
        except Exception as exc:
            if not poison(exc) and transient(exc):
                await self._probe(exc)  # away: pause; it answers: which record fails, alone?
            # A lone record's failure counts as its first attempt; a batch's says not whose.
            first_error: Exception | None = exc if len(events) == 1 else None
            if first_error is None:
                log.info(
                    "batch failed; replaying record by record",
                    extra={"error_type": type(exc).__name__, "records": len(events)},
                )
        for record, event in events:
            await self._handle_with_retries(record, event, first_error)

    async def _handle_batch(self, events: list[tuple[ConsumerRecord, Event]]) -> None:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                INBOX_INSERT,
                {
                    "group": self.group_id,
                    "ids": [e.id for _, e in events],
                    "topics": [r.topic for r, _ in events],
                    "types": [e.type for _, e in events],
                },
            )
            fresh = {row[0] for row in result}
            outcomes: Counter[tuple[str, str]] = Counter()
            by_topic: dict[str, list[Event]] = {}
            for record, event in events:
                if event.id not in fresh:
                    outcomes[record.topic, "duplicate"] += 1
                    continue
                fresh.discard(event.id)  # the same id twice in one batch runs once
                by_topic.setdefault(record.topic, []).append(event)
            for topic, group in by_topic.items():
                handler = self.handlers[topic]
                if isinstance(handler, Batched):
                    # One call for many events: the first event's context stands for all.
                    context.start(group[0].correlation_id, group[0].traceparent)
                    await handler.handle(session, group)
                else:
                    for event in in_context(group):
                        await handler(session, event)
                outcomes[topic, "handled"] += len(group)
        for (topic, outcome), n in outcomes.items():
            metrics.EVENTS_CONSUMED.labels(self.service, topic, outcome).inc(n)

    async def _handle_with_retries(
        self, record: ConsumerRecord, event: Event, known_error: Exception | None
    ) -> None:
        error = known_error
        attempts = 1 if known_error else 0
        while attempts < self.max_attempts and not poison(error) and not (error and transient(error)):
            if attempts:
                metrics.EVENTS_RETRIED.labels(self.service, record.topic).inc()
                await asyncio.sleep(backoff(attempts, base=self.retry_base_seconds, cap=30.0))
            attempts += 1
            try:
                await self._handle_batch([(record, event)])
                return
            except Exception as exc:
                error = exc
        if error is not None and not poison(error) and transient(error):
            attempts = await self._strike(record, error)
        elif not poison(error):
            await self._probe()
        reason, why = verdict(error)
        await self.dead_letter(record, why, attempts=attempts, reason=reason)

    async def _strike(self, record: ConsumerRecord, error: Exception) -> int:
        """Pause, unless `record` failed alone `transient_limit` rounds while the database answered."""
        await self._probe(error)
        strikes = self._strikes.strike((record.topic, record.partition, record.offset))
        if strikes is None:
            raise Paused(error) from error
        return strikes

    async def _probe(self, transient_error: Exception | None = None) -> None:
        """Before an event is parked for an unexpected error: does the database answer? If not,
        the error was the outage in some unclassified form, and the consumer pauses instead (at
        once for a transient error saying a dependency is away, not busy)."""
        if transient_error is not None and not attributable(transient_error):
            raise Paused(transient_error) from transient_error
        try:
            async with asyncio.timeout(5), self.db.session() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            raise Paused(exc) from exc

    async def dead_letter(self, record: ConsumerRecord, error: str, *, attempts: int, reason: str) -> None:
        """Park a record on `<topic>.dlq` with why (`reason`: schema, rule or error), where it
        came from and how often it was tried. The broker being away pauses the consumer."""
        assert self._producer is not None
        headers = dead_letter_headers(
            record, group=self.group_id, error=error, attempts=attempts, reason=reason
        )
        try:
            await self._producer.send_and_wait(
                dlq_topic(record.topic), value=record.value, key=record.key, headers=headers
            )
        except Exception as exc:
            if transient(exc):
                raise Paused(exc) from exc
            raise
        self._parked.add((record.topic, record.partition, record.offset))
        metrics.EVENTS_DEAD_LETTERED.labels(self.service, record.topic, reason).inc()
        log.warning(
            "event dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )


class PermanentError(Exception):
    """Raised by a handler for an event that can never succeed (a business rule).

    It skips the retries and goes straight to the dead-letter topic. Its message is
    written to the DLQ headers, so it must name the rule, never patient data.
    """


class Paused(Exception):
    """A dependency failed while a poll was handled (see `shared.retry.transient`): the poll
    is tried again after a pause, and nothing of it is dead-lettered or committed."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"paused: {type(cause).__name__}")
        self.cause = cause


def poison(error: BaseException | None) -> bool:
    """An event that can never succeed, whatever else is going on."""
    return isinstance(error, PermanentError | InvalidEvent)


def verdict(error: BaseException | None) -> tuple[str, str]:
    """A dead letter's reason (schema, rule or error) and error text. Our own PermanentError
    and InvalidEvent messages are safe (they name the rule); others show only their type,
    because library messages can quote the data that failed."""
    if isinstance(error, InvalidEvent):
        return "schema", f"schema: {error}"
    if isinstance(error, PermanentError):
        return "rule", f"handler: {error}"
    looked = f" ({transient(error)}, while the database answered)" if error and transient(error) else ""
    return "error", f"handler: {type(error).__name__}{looked}"
