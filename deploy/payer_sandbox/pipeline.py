"""The clearinghouse + payer loop on Kafka (what it answers: clearinghouse.py).

A partner, not a platform service, but one that survives kill -9 without paying a claim twice
or forgetting one. A poll's records are handled in one transaction of its own store (store.py:
the event ids it handled, what each payer adjudicated and paid, pending batches, the 835s, and
the events to publish in an outbox); then the outbox is published with the shared idempotent
producer and envelope; then the poll's offsets are committed (auto-commit off). A redelivered
claim.submitted is skipped by its event id, and an event published again after a crash is the
same event (same id, same 835 and trace). An undecodable event is parked on
`claim.submitted.dlq` with the reason (the platform's own DLQ headers) and consumption goes on;
a claim to a payer it does not run is ignored. It starts without Kafka and keeps trying, with
backoff (shared/retry.py), while its HTTP side serves and /health says Kafka is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.payer_sandbox.adjudication import Memory
from deploy.payer_sandbox.clearinghouse import Clearinghouse, Remittance, due_keys
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.data import Tables
from deploy.payer_sandbox.store import SandboxStore
from shared.events.catalogue import ClaimSubmitted
from shared.kafka import client_kwargs, started_producer
from shared.retry import run_forever

log = logging.getLogger("payer_sandbox.pipeline")

TOPIC = "claim.submitted"
OUTBOX_BATCH = 1_000

__all__ = ["ClaimPipeline", "Remittance"]


class ClaimPipeline:
    """The sandbox's Kafka side: consumes claim.submitted, has the clearinghouse answer each poll
    in one store transaction, publishes the store's outbox, then commits the poll's offsets."""

    def __init__(
        self,
        config: SandboxConfig,
        tables: Tables,
        accept: Callable[[ClaimSubmitted], bool] | None = None,
    ) -> None:
        self.config = config
        self.store = SandboxStore(config.state_path)
        self.clearinghouse = Clearinghouse(config, tables, self.store, accept)
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._relaying = asyncio.Lock()
        # "starting" → "joining the consumer group" → "running" (it has partitions); "waiting for
        # Kafka" while the broker does not answer.
        self.status = "starting"
        self.ready = asyncio.Event()

    @property
    def remittances(self) -> deque[Remittance]:
        """The latest 835s it built (for tests and operators)."""
        return self.clearinghouse.remittances

    @property
    def memory(self) -> dict[str, Memory]:
        return self.clearinghouse.memory

    def counters(self) -> dict[str, Any]:
        return self.clearinghouse.counters()

    # --- lifecycle ---------------------------------------------------------------------

    def launch(self) -> None:
        """Start in the background: consuming (joining the group, retrying with backoff while
        Kafka is away), the payers' batch cycles and the outbox relay."""
        consume = run_forever(
            self._poll, what="payer sandbox consumer", recover=self._recover, first_delay=0.5, max_delay=10.0
        )
        self._tasks += [
            asyncio.create_task(consume, name="payer-sandbox-consume"),
            asyncio.create_task(self._flush_loop(), name="payer-sandbox-batches"),
            asyncio.create_task(self._relay_loop(), name="payer-sandbox-relay"),
        ]

    async def start(self, assignment_timeout: float = 30.0) -> None:
        """Launch, and return once the group owns its partitions and knows where it starts, so
        a claim published after start() is never missed."""
        self.launch()
        try:
            await asyncio.wait_for(self.ready.wait(), assignment_timeout)
        except TimeoutError:
            await self.stop()
            raise TimeoutError("the payer sandbox got no claim.submitted partitions") from None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.store.path == ":memory:":  # nothing would remember pending batches: send them now
            with contextlib.suppress(Exception), self.store.transaction():
                self.clearinghouse.flush(force=True)
        with contextlib.suppress(Exception):
            await self._relay()  # what is left stays in the store for the next start
        await self._close_consumer()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
        self.store.close()

    # --- consuming ---------------------------------------------------------------------

    async def _connected(self) -> AIOKafkaConsumer:
        if self._producer is None:
            assert self.config.kafka is not None  # the pipeline runs only with a broker
            self._producer = await started_producer(self.config.kafka, client_id="payer-sandbox")
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **client_kwargs(self.config.kafka),
                group_id=self.config.group_id,
                client_id="payer-sandbox",
                enable_auto_commit=False,  # committed only once a poll's work is in the store
                auto_offset_reset=self.config.auto_offset_reset,
                isolation_level="read_committed",
            )
            consumer.subscribe([TOPIC])
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def _poll(self) -> None:
        """One poll: handle its records in one store transaction, publish what they caused,
        then commit their offsets."""
        try:
            consumer = await self._connected()
        except Exception:
            self.status = "waiting for Kafka"
            raise
        if not self.ready.is_set():
            self.status = "joining the consumer group"
        batches = await consumer.getmany(timeout_ms=500, max_records=500)
        if consumer.assignment() and not self.ready.is_set():
            for tp in consumer.assignment():
                await consumer.position(tp)  # resolve "latest" now, not at the next fetch
            self.status = "running"
            self.ready.set()
        if not batches:
            return
        self._handle_poll([record for records in batches.values() for record in records])
        with contextlib.suppress(Exception):  # unpublished events stay in the outbox (relay loop)
            await self._relay()
        await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})

    async def _recover(self) -> None:
        """After a failed poll: forget what did not commit, and rejoin (the uncommitted records
        come again; the store knows which were handled)."""
        self.clearinghouse.load()
        await self._close_consumer()

    async def _close_consumer(self) -> None:
        self.ready.clear()
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            with contextlib.suppress(Exception):
                await consumer.stop()

    def _handle_poll(self, records: list[Any]) -> None:
        """Every record of a poll in one transaction; one that fails is skipped (logged) with
        its own writes undone, the others commit."""
        failed = False
        try:
            with self.store.transaction():
                for record in records:
                    try:
                        with self.store.savepoint():
                            self.clearinghouse.on_record(record)
                    except Exception:
                        failed = True
                        self.clearinghouse.counts["errors"] += 1
                        log.exception(
                            "claim handling failed; skipping the record at offset %s", record.offset
                        )
        except BaseException:
            self.clearinghouse.load()
            raise
        if failed:  # its memory changes were not stored: start again from the store
            self.clearinghouse.load()

    # --- publishing --------------------------------------------------------------------

    async def _relay(self) -> None:
        """Publish the outbox in order and forget what the broker has. A crash between the two
        publishes those events again: the same events (ids, traces), never new ones."""
        async with self._relaying:
            while rows := self.store.unpublished(OUTBOX_BATCH):
                await self._connected()
                assert self._producer is not None
                futures = [
                    await self._producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in rows
                ]
                results = await asyncio.gather(*futures, return_exceptions=True)
                done = [
                    r.id
                    for r, result in zip(rows, results, strict=True)
                    if not isinstance(result, BaseException)
                ]
                with self.store.transaction():
                    self.store.published(done)
                if len(done) < len(rows):
                    raise next(r for r in results if isinstance(r, BaseException))

    async def _relay_loop(self) -> None:
        """What could not be published at once (broker away) goes out when it is back."""
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._relay()
            except Exception as exc:
                log.warning("publishing the sandbox outbox failed (%s); retrying", type(exc).__name__)

    # --- remittances -------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        """Publish batched remittances on each payer's cycle."""
        last: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.2)
            due = due_keys(self.clearinghouse, last, loop.time())
            if due:
                try:
                    with self.store.transaction():
                        self.clearinghouse.flush(keys=due)
                except Exception as exc:
                    self.clearinghouse.load()
                    log.warning("batched remittance failed (%s); retrying next cycle", type(exc).__name__)
                    continue
                with contextlib.suppress(Exception):
                    await self._relay()
