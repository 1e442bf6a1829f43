"""What `make chaos` reads from the running platform, read-only: whether a run has converged,
and the rows the counting rules (bench/chaos_counts.py) need.

Sources: SQL over the six services' schemas (one admin connection per look, so a database
outage only makes a look fail), the payer sandbox's own SQLite record (opened read-only), the
mail and SMS sink's HTTP API, and Kafka itself (consumer groups' committed offsets against the
log ends; dead-letter topics' ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.chaos_counts import Snapshot
from bench.common import admin_kafka
from deploy import broker, postgres
from deploy.payer_sandbox.config import SandboxConfig
from shared.kafka import client_kwargs

SCHEMAS = ("eligibility", "claims", "payments", "notifications", "gateway", "frontoffice")
# What is still between the platform and the clearinghouse: the gateway's claims not in a file,
# files not uploaded, received files not acted on; the sandbox's files not answered, answers not
# written to from/, payments waiting for their 835.
GATEWAY_BACKLOG = (
    "SELECT (SELECT count(*) FROM gateway.outbound_claims WHERE state = 'queued')"
    " + (SELECT count(*) FROM gateway.submission_files WHERE state = 'built')"
    " + (SELECT count(*) FROM gateway.received_files WHERE state = 'received')"
)
SANDBOX_BACKLOG = (
    "SELECT (SELECT count(*) FROM pending)"
    " + (SELECT count(*) FROM files_in WHERE state = 'received')"
    " + (SELECT count(*) FROM files_out WHERE written_at IS NULL)"
)
SINK = "http://127.0.0.1:8025"
# A claim not answered yet: waiting on the payer, or not submitted yet (scrubbed clean, or not
# scrubbed at all). A draft the scrubber held (errors) is settled: it is the practice's work.
IN_FLIGHT = "status IN ('submitted', 'accepted', 'ready') OR (status = 'draft' AND scrub IS NULL)"
LOOK_TIMEOUT = 10.0


@dataclass
class Progress:
    """One look at the platform while waiting for it to converge (None: could not look)."""

    encounters_with_claim: int | None = None
    claims_in_flight: int | None = None
    outbox_backlog: int | None = None
    deliveries_pending: int | None = None
    sandbox_backlog: int | None = None
    consumer_lag: int | None = None
    sent: int = 0

    @property
    def idle(self) -> bool:
        """Nothing moves: no event waits anywhere (the rest, if missing, never comes)."""
        return (self.outbox_backlog, self.deliveries_pending, self.sandbox_backlog, self.consumer_lag) == (
            0,
            0,
            0,
            0,
        )

    @property
    def converged(self) -> bool:
        return self.idle and self.encounters_with_claim == self.sent and self.claims_in_flight == 0

    def summary(self) -> str:
        def v(x: int | None) -> str:
            return "?" if x is None else str(x)

        return (
            f"claims for {v(self.encounters_with_claim)}/{self.sent} encounters, "
            f"{v(self.claims_in_flight)} in flight, outbox {v(self.outbox_backlog)}, "
            f"deliveries pending {v(self.deliveries_pending)}, sandbox backlog {v(self.sandbox_backlog)}, "
            f"consumer lag {v(self.consumer_lag)}"
        )


def sandbox_db() -> sqlite3.Connection:
    """The sandbox's own store, read-only (it keeps writing to it)."""
    path = SandboxConfig.from_env().state_path
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    return conn


class Probe:
    """Looks at the platform; holds the Kafka clients between looks (recreated after an outage)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.kafka = admin_kafka(broker.kafka_bootstrap())
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Probe:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close_kafka()

    # ---- Kafka ---------------------------------------------------------------------

    async def _close_kafka(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.close() if client is self._admin else client.stop(), 5)
        self._admin = self._consumer = None

    async def _kafka(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            admin = AIOKafkaAdminClient(**client_kwargs(self.kafka), request_timeout_ms=5000)
            consumer = AIOKafkaConsumer(**client_kwargs(self.kafka), enable_auto_commit=False)
            await asyncio.wait_for(admin.start(), LOOK_TIMEOUT)
            await asyncio.wait_for(consumer.start(), LOOK_TIMEOUT)
            self._admin, self._consumer = admin, consumer
        return self._admin, self._consumer

    async def _ends(
        self, consumer: AIOKafkaConsumer, parts: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        return await asyncio.wait_for(consumer.end_offsets(parts), LOOK_TIMEOUT) if parts else {}

    async def consumer_lag(self) -> int | None:
        """Sum over every consumer group of (log end - committed offset), or None when Kafka is away."""
        try:
            admin, consumer = await self._kafka()
            groups = await asyncio.wait_for(admin.list_consumer_groups(), LOOK_TIMEOUT)
            lag = 0
            for group, *_ in groups:
                offsets = await asyncio.wait_for(admin.list_consumer_group_offsets(group), LOOK_TIMEOUT)
                committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
                ends = await self._ends(consumer, list(committed))
                lag += sum(max(0, ends[tp] - off) for tp, off in committed.items())
            return lag
        except Exception:
            await self._close_kafka()
            return None

    async def dead_letter_total(self) -> int:
        """Records on every dead-letter topic (the run's are the difference before and after)."""
        for _ in range(30):
            try:
                _, consumer = await self._kafka()
                await asyncio.wait_for(consumer._client.force_metadata_update(), LOOK_TIMEOUT)
                topics = [t for t in await consumer.topics() if t.endswith(".dlq")]
                parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
                return sum((await self._ends(consumer, parts)).values())
            except Exception:
                await self._close_kafka()
                await asyncio.sleep(2)
        raise RuntimeError("Kafka did not answer for the dead-letter count")

    # ---- PostgreSQL and the sandbox ----------------------------------------------------

    async def _db(self) -> asyncpg.Connection:
        return await asyncpg.connect(postgres.database_url(), timeout=5, command_timeout=30)

    async def progress(self, run_id: str, sent: int) -> Progress:
        found = Progress(sent=sent)
        found.consumer_lag = await self.consumer_lag()
        with contextlib.suppress(OSError, sqlite3.Error):
            with contextlib.closing(sandbox_db()) as db:
                found.sandbox_backlog = db.execute(SANDBOX_BACKLOG).fetchone()[0]
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncio.TimeoutError):
            conn = await self._db()
            try:
                row = await conn.fetchrow(
                    "SELECT count(DISTINCT encounter_id) AS with_claim, "
                    f"count(*) FILTER (WHERE {IN_FLIGHT}) AS in_flight "
                    "FROM claims.claims WHERE patient_id LIKE $1",
                    f"pat-{run_id}-%",
                )
                found.encounters_with_claim, found.claims_in_flight = row["with_claim"], row["in_flight"]
                found.outbox_backlog = sum(
                    [
                        await conn.fetchval(f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL")
                        for s in SCHEMAS
                    ]
                )
                if found.sandbox_backlog is not None:  # the mailbox's both ends
                    found.sandbox_backlog += await conn.fetchval(GATEWAY_BACKLOG)
                found.deliveries_pending = await conn.fetchval(
                    "SELECT count(*) FROM notifications.deliveries WHERE status = 'pending'"
                )
            finally:
                await conn.close()
        return found

    async def snapshot(self, run_id: str, sent: int, since: datetime) -> Snapshot:
        """Everything the counting rules need about run_id (retried while the database is away)."""
        for attempt in range(30):
            try:
                conn = await self._db()
                try:
                    snap = await _rows(conn, run_id, since)
                finally:
                    await conn.close()
                break
            except (TimeoutError, OSError, asyncpg.PostgresError):
                if attempt == 29:
                    raise
                await asyncio.sleep(2)
        snap.sent = [f"enc-{run_id}-{i:07d}" for i in range(sent)]
        pcns = {c["patient_control_number"] for c in snap.claims}
        with contextlib.closing(sandbox_db()) as db:
            rows = db.execute("SELECT pcn, status, trace FROM payments").fetchall()
        snap.sandbox_payments = [dict(r) for r in rows if r["pcn"] in pcns]
        snap.sink = await self.sink({d["id"] for d in snap.deliveries})
        return snap

    async def sink(self, deliveries: set[str]) -> list[dict[str, Any]]:
        """Every message the sink received for one of these deliveries: channel, address, delivery."""
        mails = (await self.http.get(f"{SINK}/messages")).json()
        texts = (await self.http.get(f"{SINK}/sms")).json()
        found = [
            {
                "channel": "email",
                "address": ",".join(m["rcpt_tos"]),
                "delivery_id": m["headers"].get("X-Revcycle-Delivery"),
            }
            for m in mails
        ]
        found += [
            {"channel": "sms", "address": t["to"], "delivery_id": t.get("idempotency_key")} for t in texts
        ]
        return [m for m in found if m["delivery_id"] in deliveries]


async def _rows(conn: asyncpg.Connection, run_id: str, since: datetime) -> Snapshot:
    patients = f"pat-{run_id}-%"
    claims = [
        dict(r)
        for r in await conn.fetch(
            "SELECT id::text, encounter_id, patient_control_number, status, primary_claim_id::text, "
            "original_claim_id::text, patient_id FROM claims.claims WHERE patient_id LIKE $1",
            patients,
        )
    ]
    pcns = [c["patient_control_number"] for c in claims]
    postings = [
        dict(r)
        for r in await conn.fetch(
            "SELECT id::text, claim_id::text, patient_control_number, status_code, "
            "reverses_posting_id::text, account_id FROM payments.claim_postings "
            "WHERE patient_control_number = ANY($1::text[])",
            pcns,
        )
    ]
    keys = [c["id"] for c in claims] + sorted({c["patient_id"] for c in claims})
    events: dict[str, tuple[str, str]] = {}
    for schema in ("eligibility", "claims", "payments"):
        for r in await conn.fetch(
            f"SELECT event_id::text, event_type, event_key FROM {schema}.outbox "
            "WHERE event_key = ANY($1::text[])",
            keys,
        ):
            events[r["event_id"]] = (r["event_type"], r["event_key"])
    deliveries = [
        dict(r)
        for r in await conn.fetch(
            "SELECT id::text, recipient_id, channel, template, cause_event_id::text, status "
            "FROM notifications.deliveries WHERE recipient_id LIKE $1 OR cause_event_id = ANY($2::uuid[])",
            patients,
            list(events),
        )
    ]
    unmatched = await conn.fetchval(
        "SELECT count(*) FROM payments.unmatched_claims WHERE resolved_at IS NULL AND created_at >= $1", since
    )
    return Snapshot(
        claims=claims,
        postings=postings,
        events=events,
        deliveries=deliveries,
        unmatched=unmatched,
        possible_duplicates=await _possible_duplicates(conn, since),
    )


async def _possible_duplicates(conn: asyncpg.Connection, since: datetime) -> int:
    """Rows parked in payments' possible-duplicate queue since the run started (issue 16 item 3:
    whatever table holds it; 0 where there is none yet)."""
    total = 0
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'payments' "
        "AND table_name LIKE '%duplicate%'"
    )
    for t in tables:
        columns = {
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'payments' "
                "AND table_name = $1",
                t["table_name"],
            )
        }
        where = ["created_at >= $1"] if "created_at" in columns else ["$1::timestamptz IS NOT NULL"]
        if "resolved_at" in columns:
            where.append("resolved_at IS NULL")
        total += await conn.fetchval(
            f'SELECT count(*) FROM payments."{t["table_name"]}" WHERE {" AND ".join(where)}',
            since,
        )
    return total
