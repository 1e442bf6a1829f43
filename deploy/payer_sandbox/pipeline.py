"""The clearinghouse + payer loop on Kafka.

claim.submitted (837P) -> front-end edits -> claim.acknowledged | claim.rejected
                       -> adjudication -> remittance.received (835), immediately or
                          batched per payer and payee on the payer's cycle.

A partner, not a platform service: it uses a plain aiokafka consumer (its own group,
in-memory de-duplication of event ids) and publishes with the shared idempotent producer
and envelope. An undecodable event is parked on `claim.submitted.dlq` with the reason
(the platform's own DLQ headers) and consumption goes on; a claim to a payer it does not
run is ignored. State (what each payer paid, for duplicates and reversals) lives in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from deploy.payer_sandbox import claim837
from deploy.payer_sandbox.adjudication import ClaimPayment, Context, Memory, adjudicate, derive, find_original
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.data import PayerRules, Tables
from deploy.payer_sandbox.remit835 import build_835, check_balanced
from shared import context, x12
from shared.consumer import dead_letter_headers
from shared.events.catalogue import (
    ClaimAcknowledged,
    ClaimRejected,
    ClaimSubmitted,
    RejectionReason,
    RemittanceReceived,
    dlq_topic,
)
from shared.events.envelope import Event, InvalidEvent, decode, encode, new_event
from shared.kafka import started_producer

log = logging.getLogger("payer_sandbox.pipeline")

SOURCE = "payer-sandbox"
TOPIC = "claim.submitted"
SEEN_LIMIT = 200_000
REMITTANCES_KEPT = 5_000


@dataclass(frozen=True)
class Remittance:
    """An 835 the sandbox published (kept for tests and /stats)."""

    payer_id: str
    trace_number: str
    x12_835: str
    pcns: tuple[str, ...]


class _Assigned(ConsumerRebalanceListener):
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned:
            self.event.set()


class ClaimPipeline:
    def __init__(
        self,
        config: SandboxConfig,
        tables: Tables,
        accept: Callable[[ClaimSubmitted], bool] | None = None,
    ) -> None:
        self.config = config
        self.tables = tables
        self.accept = accept
        self._payers = _payers_run(config, tables)
        self.memory: dict[str, Memory] = {}
        # The latest 835s, for tests and operators (bounded: volume runs send many).
        self.remittances: deque[Remittance] = deque(maxlen=REMITTANCES_KEPT)
        self.counts: Counter[str] = Counter()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._pending: dict[tuple[str, str], list[ClaimPayment]] = {}
        self._payee_names: dict[str, str] = {}
        self._control = itertools.count(1)
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._in_flight: list[_Flight] = []

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, assignment_timeout: float = 30.0) -> None:
        """Start consuming; returns once the group owns its partitions and knows where it
        starts, so a claim published after start() is never missed."""
        bootstrap = self.config.kafka_bootstrap
        assert bootstrap
        self._producer = await started_producer(bootstrap, client_id="payer-sandbox")
        listener = _Assigned()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=self.config.group_id,
            client_id="payer-sandbox",
            enable_auto_commit=True,
            auto_offset_reset=self.config.auto_offset_reset,
            isolation_level="read_committed",
        )
        consumer.subscribe([TOPIC], listener=listener)
        await consumer.start()
        self._consumer = consumer
        try:
            # Joining happens while fetching; poll until partitions are ours.
            deadline = asyncio.get_running_loop().time() + assignment_timeout
            while not listener.event.is_set():
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("the payer sandbox got no claim.submitted partitions")
                records = await consumer.getmany(timeout_ms=200)
                for batch in records.values():
                    for record in batch:
                        await self._on_record(record)
                await self._drain()
            for tp in consumer.assignment():
                await consumer.position(tp)  # resolve "latest" now, not at the first fetch
        except BaseException:
            await self.stop()
            raise
        self._tasks.append(asyncio.create_task(self._consume(), name="payer-sandbox-consume"))
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="payer-sandbox-batches"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.flush(force=True)  # batched remittances are not lost at shutdown
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None

    def counters(self) -> dict[str, Any]:
        return {
            **dict(self.counts),
            "remittances": self.counts["remittances_sent"],
            "pending_in_batches": sum(len(v) for v in self._pending.values()),
        }

    # --- consuming ---------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                records = await self._consumer.getmany(timeout_ms=500, max_records=500)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker hiccup: keep going
                log.warning("claim.submitted poll failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1)
                continue
            for batch in records.values():
                for record in batch:
                    try:
                        await self._on_record(record)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        self.counts["errors"] += 1
                        log.exception(
                            "claim handling failed; skipping the record at offset %s", record.offset
                        )
            try:
                await self._drain()
            except Exception as exc:  # what could not be sent was logged (835s are queued again)
                self.counts["errors"] += 1
                log.warning("publishing a poll's answers failed (%s)", type(exc).__name__)

    async def _on_record(self, record: Any) -> None:
        try:
            event = decode(record.topic, record.key, record.value, record.headers)
        except InvalidEvent as exc:
            self.counts["undecodable"] += 1
            log.warning("dead-lettering an undecodable claim.submitted at offset %s", record.offset)
            assert self._producer is not None
            await self._producer.send_and_wait(
                dlq_topic(record.topic),
                value=record.value,
                key=record.key,
                headers=dead_letter_headers(
                    record, group=self.config.group_id, error=f"decode: {exc}", attempts=1
                ),
            )
            return
        event_id = str(event.id)
        if event_id in self._seen:
            self.counts["duplicate_events"] += 1
            return
        self._seen[event_id] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        # The claim's correlation id follows it into the 277CA and the 835 events, as the
        # platform's own hops do, so one encounter can be traced to its payment.
        context.start(event.correlation_id, event.traceparent)
        await self.handle(event)

    def _addressed_to_us(self, receiver_id: str | None) -> bool:
        """Is the interchange addressed (ISA08) to one of our clearinghouse ids? One whose
        receiver cannot be read is ours to reject, since no clearinghouse can tell where it
        was going."""
        return (
            self.config.receiver_ids is None or receiver_id is None or receiver_id in self.config.receiver_ids
        )

    async def handle(self, event: Event) -> None:
        """One claim: edits, acknowledgment or rejection, adjudication, remittance."""
        submitted: ClaimSubmitted = event.data  # type: ignore[assignment]
        if self.accept is not None and not self.accept(submitted):
            self.counts["not_accepted"] += 1
            return
        payer = self._payers.get(submitted.payer_id)
        if payer is None:
            self.counts["ignored_other_payer"] += 1
            return
        try:
            claim = claim837.parse_837(submitted.x12_837)
        except x12.X12Error as exc:
            if not self._addressed_to_us(_receiver_of(submitted.x12_837)):
                self.counts["not_addressed"] += 1
                return
            self.counts["claims"] += 1
            await self._reject(submitted, [claim837.Rejection("A7:21", f"the 837 is not readable: {exc}")])
            return
        if not self._addressed_to_us(claim.receiver_id):
            self.counts["not_addressed"] += 1
            return
        self.counts["claims"] += 1
        problems = claim837.validate(claim, expected_pcn=submitted.patient_control_number)
        scenario = self.tables.scenario(claim.member_id) if claim.member_id else None
        if claim.member_id and (scenario is None or (scenario.aaa and scenario.aaa.code == "75")):
            problems.append(claim837.Rejection("A3:33", "subscriber and subscriber id not found"))
        if claim.payer_id and claim.payer_id != submitted.payer_id:
            problems.append(
                claim837.Rejection("A7:21", "NM1*PR payer id does not match the submission's payer")
            )
        if claim.payer_responsibility in ("S", "T") and not claim.prior_adjudicated:
            problems.append(
                claim837.Rejection("A7:21", "secondary claim without the prior payer's adjudication")
            )
        memory = self.memory.setdefault(payer.payer_id, Memory())
        ctx = Context(
            seed=self.config.seed,
            claim_id=str(submitted.claim_id),
            submitted_on=submitted.submitted_at.date(),
            coverage_order=submitted.coverage_order,
            original_pccn=submitted.original_payer_claim_control_number,
            random_denial_share=payer.random_denial_share,
        )
        if not problems and claim.frequency_code == "8" and find_original(claim, ctx, memory) is None:
            problems.append(
                claim837.Rejection("A7:21", "void (frequency 8) of a claim this payer has not paid")
            )
        if problems:
            await self._reject(submitted, problems)
            return
        assert scenario is not None
        async with self._lock:
            payments = adjudicate(
                claim, ctx, tables=self.tables, payer=payer, scenario=scenario, memory=memory
            )
        new = [p for p in payments if p.status != "22"]
        pccn = new[0].pccn if new else payments[0].pccn
        await self._publish(
            ClaimAcknowledged(
                claim_id=submitted.claim_id,
                patient_control_number=submitted.patient_control_number,
                payer_claim_control_number=pccn,
                acknowledged_at=datetime.now(UTC),
                payer_id=payer.payer_id,
            )
        )
        self.counts["acknowledged"] += 1
        self._payee_names.setdefault(claim.billing_npi, claim.billing_name)
        key = (payer.payer_id, claim.billing_npi)
        self._pending.setdefault(key, []).extend(payments)
        if payer.remittance_mode != "batched":
            await self.flush(keys=[key], wait=False)

    async def _reject(self, submitted: ClaimSubmitted, problems: list[claim837.Rejection]) -> None:
        self.counts["rejected"] += 1
        await self._publish(
            ClaimRejected(
                claim_id=submitted.claim_id,
                patient_control_number=submitted.patient_control_number,
                reasons=[RejectionReason(code=p.code, message=p.message[:500]) for p in problems],
                rejected_at=datetime.now(UTC),
                payer_id=submitted.payer_id,
            )
        )

    async def _publish(self, payload: Any, on_failure: Callable[[], Awaitable[None]] | None = None) -> None:
        """Queue one event for the producer without waiting for the broker: a poll's 277CAs and
        835s go out in a few produce requests, and `_drain` waits for them all (one broker
        round trip per poll instead of two per claim)."""
        assert self._producer is not None
        topic, key, value, headers = encode(new_event(payload, source=SOURCE))
        try:
            delivery = await self._producer.send(topic, value, key=key, headers=headers)
        except Exception:  # the producer's buffer refused it: sent again by _drain
            delivery = asyncio.get_running_loop().create_future()
            delivery.set_exception(RuntimeError("not queued"))
        self._in_flight.append(_Flight(delivery, topic, key, value, headers, on_failure))

    async def _drain(self, attempts: int = 5) -> None:
        """Wait until the broker has every queued event; one that failed is sent again, with
        backoff (the idempotent producer keeps a retried send from being written twice)."""
        assert self._producer is not None
        flights, self._in_flight = self._in_flight, []
        results = await asyncio.gather(*(f.delivery for f in flights), return_exceptions=True)
        for flight, result in zip(flights, results, strict=True):
            if not isinstance(result, BaseException):
                continue
            for attempt in range(1, attempts + 1):
                try:
                    await self._producer.send_and_wait(
                        flight.topic, flight.value, key=flight.key, headers=flight.headers
                    )
                    break
                except Exception as exc:
                    log.warning("publishing to %s failed (%s); retrying", flight.topic, type(exc).__name__)
                    if attempt == attempts:
                        if flight.on_failure is not None:
                            await flight.on_failure()
                        raise
                    await asyncio.sleep(0.2 * 2**attempt)

    # --- remittances -------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        """Publish batched remittances on each payer's cycle."""
        last: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.2)
            now = loop.time()
            due = []
            for payer_id, payee in list(self._pending):
                rules = self._payers.get(payer_id)
                if rules is None or rules.remittance_mode != "batched":
                    continue
                started = last.setdefault(payer_id, now)
                if now - started >= rules.cycle_seconds:
                    due.append((payer_id, payee))
            for payer_id in {p for p, _ in due}:
                last[payer_id] = now
            if due:
                try:
                    await self.flush(keys=due)
                except Exception as exc:
                    log.warning("batched remittance failed (%s); retrying next cycle", type(exc).__name__)

    async def flush(
        self, keys: list[tuple[str, str]] | None = None, force: bool = False, wait: bool = True
    ) -> list[Remittance]:
        """Build and publish one 835 per (payer, payee) with everything pending for it.
        `wait=False`: leave the sends queued for the poll's `_drain`."""
        published = []
        async with self._lock:
            chosen = list(self._pending) if keys is None or force else keys
            batches = [(k, self._pending.pop(k)) for k in chosen if self._pending.get(k)]
        for (payer_id, payee_npi), payments in batches:
            rules = self._payers[payer_id]
            pccns = sorted(p.pccn + p.status for p in payments)
            trace = f"SBX{derive(self.config.seed, 'trace', payer_id, *pccns) % 10**15:015d}"
            text = build_835(
                payments,
                payer=rules,
                payee_name=self._payee_names.get(payee_npi) or self.tables.payee_name,
                payee_npi=payee_npi or self.tables.payee_default_npi,
                trace_number=trace,
                control_number=next(self._control),
                now=datetime.now(UTC).replace(tzinfo=None),
            )
            check_balanced(text)  # never publish money that does not add up

            async def requeue(key: tuple[str, str] = (payer_id, payee_npi), back: list = payments) -> None:
                async with self._lock:  # not lost: back in the queue for the next flush
                    self._pending.setdefault(key, [])[:0] = back

            await self._publish(
                RemittanceReceived(
                    trace_number=trace, payer_id=payer_id, x12_835=text, received_at=datetime.now(UTC)
                ),
                on_failure=requeue,
            )
            remittance = Remittance(payer_id, trace, text, tuple(p.pcn for p in payments))
            self.remittances.append(remittance)
            self.counts["remittances_sent"] += 1
            self.counts["claims_remitted"] += len(payments)
            published.append(remittance)
        if wait:
            await self._drain()
        return published


@dataclass
class _Flight:
    """An event handed to the producer, kept until the broker has it (to send it again)."""

    delivery: asyncio.Future[Any]
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    on_failure: Callable[[], Awaitable[None]] | None


def _payers_run(config: SandboxConfig, tables: Tables) -> dict[str, PayerRules]:
    """The payers this instance adjudicates, with the config's overrides of payers.json applied
    (once, not per claim)."""
    changes: dict[str, Any] = {}
    if config.remittance_mode:
        changes["remittance_mode"] = config.remittance_mode
    if config.cycle_seconds is not None:
        changes["cycle_seconds"] = config.cycle_seconds
    if config.random_denial_share is not None:
        changes["random_denial_share"] = Decimal(config.random_denial_share)
    return {
        payer_id: replace(rules, **changes)
        for payer_id, rules in tables.payers.items()
        if config.payers is None or payer_id in config.payers
    }


def _receiver_of(text: str) -> str | None:
    """ISA08 of an interchange that failed to parse further, when its ISA can still be read."""
    try:
        _, segments = x12.tokenize(text)
    except x12.X12Error:
        return None
    return segments[0].get(8).strip()
