"""Files through the clearinghouse mailbox, next to the Kafka-only path it replaced (make
bench-mailbox; bench/README.md "Clearinghouse mailbox").

One run, in a database of its own (`<db>_bench_mailbox`, recreated, dropped afterwards):
1. 5,000 `claim.submitted` events with 837Ps as the claims service writes them are queued by
   the gateway's outbound use case (`record_claims`, what its batched handler calls), built
   into ONE interchange file (`build_file`) and uploaded (`upload_built`: `.part` then rename)
   to the payer sandbox's SFTP mailbox, the sandbox running as its own process.
2. The sandbox's file desk reads it and answers a 999, a 277CA and 835s in `from/` (its time is
   reported, not counted as ours).
3. Down: one poll (`mailbox.usecases.poll`: list, download, keep, delete) and the processing
   worker's round (as `inbound.usecases.process_due` runs it, timed file by file) until every
   file is processed, i.e. its events (claim.acknowledged per claim, remittance.received per
   835, submission_file.acknowledged) are committed in the gateway's outbox.
4. Those staged events published to Kafka as the outbox relay does and read back by a consumer
   (to a topic of this run, so no running service consumes 5,000 made-up acknowledgments).
Baseline, same run, same broker: what the sandbox did before: the same acknowledgments and
the same 835 texts made into JSON events (`claim.acknowledged`, `remittance.received`),
published straight to Kafka and read back by a consumer (`produce_and_read`, the same
measure as step 4). Both paths end at the same point: events on Kafka, in a consumer's hands;
neither includes the claims or payments services' handling, which is the same for both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import admin_kafka, fresh_database, run_in_scratch_database
from bench.run import _partitions, delete_topics
from deploy.payer_sandbox.testing import TEST_RECEIVER_ID, sandbox_process
from services.gateway.inbound import store as inbound_store
from services.gateway.inbound.usecases import process
from services.gateway.mailbox.usecases import poll
from services.gateway.outbound.usecases import build_file, record_claims, upload_built
from services.gateway.partners.domain import TradingPartner
from shared.config import Settings
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import ClaimAcknowledged, RemittanceReceived
from shared.events.envelope import encode
from shared.kafka import KafkaAccess, client_kwargs, settings_fields
from shared.migrate import migrate
from tests.gateway.helpers import claim_event, partner_config

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "mailbox.json"
log = logging.getLogger("bench.mailbox")


def say(message: str) -> None:
    print(f"[bench-mailbox] {message}", flush=True)


def rates(seconds: float, files: int, claims: int) -> dict[str, float]:
    return {
        "seconds": round(seconds, 3),
        "files_per_s": round(files / seconds, 2),
        "claims_per_s": round(claims / seconds, 1),
    }


def answers_written(state: Path) -> list[tuple[str, str]]:
    """(kind, text) of every answer the sandbox wrote to from/, once it answered the file."""
    with contextlib.closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True)) as db:
        taken = db.execute("SELECT count(*) FROM files_in WHERE state = 'received'").fetchone()[0]
        pending = db.execute("SELECT count(*) FROM files_out WHERE written_at IS NULL").fetchone()[0]
        rows = db.execute("SELECT kind, text FROM files_out ORDER BY id").fetchall()
    files_in = taken  # still unanswered
    return [(k, t) for k, t in rows] if rows and not pending and not files_in else []


async def wait_for_answers(state: Path, timeout: float = 1800.0) -> list[tuple[str, str]]:
    """The sandbox's answers, once it has written them all (it works in its own process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = answers_written(state)
        if answers:
            return answers
        await asyncio.sleep(0.2)
    raise TimeoutError("the sandbox did not answer the file")


async def staged(db: Database) -> list[tuple[bytes, bytes, list[tuple[str, bytes]], str, bytes]]:
    """The gateway's outbox rows as the relay sends them: (key, value, headers, type, payload)."""
    conn = await db.connect_raw()
    try:
        rows = await conn.fetch(
            "SELECT event_key, event_type, headers, payload FROM gateway.outbox ORDER BY id"
        )
    finally:
        await conn.close()
    result = []
    for r in rows:
        headers = r["headers"] if isinstance(r["headers"], dict) else json.loads(r["headers"])
        value = bytes(r["payload"])
        result.append((r["event_key"].encode(), value, [(k, v.encode()) for k, v in headers.items()],
                       r["event_type"], value))  # fmt: skip
    return result


# One 835 of 5,000 claims is over a megabyte: more than Kafka's default message size (broker
# message.max.bytes and the producer's max_request_size, both 1 MB). The bench's topics and
# producer allow 16 MiB on both paths alike; see bench/README.md for what this means.
MAX_MESSAGE = 16 * 1024 * 1024


@dataclass
class Published:
    messages: int
    seconds: float
    produce_seconds: float


async def produce_and_read(kafka: KafkaAccess, topic: str, messages: list[Any]) -> Published:
    """Produce every (key, value, headers) while a plain consumer reads them all: timed from the
    first send to the last message read (bench.run.baseline_kafka's measure, larger messages)."""
    admin = AIOKafkaAdminClient(**client_kwargs(kafka), client_id="bench-mailbox")
    await admin.start()
    try:
        config = {"max.message.bytes": str(MAX_MESSAGE)}
        await admin.create_topics(
            [NewTopic(topic, num_partitions=3, replication_factor=1, topic_configs=config)]
        )
    finally:
        await admin.close()
    fetch = {"fetch_max_bytes": MAX_MESSAGE * 2, "max_partition_fetch_bytes": MAX_MESSAGE}
    consumer = AIOKafkaConsumer(**client_kwargs(kafka), enable_auto_commit=False, **fetch)
    producer = AIOKafkaProducer(**client_kwargs(kafka), client_id="bench-mailbox", acks="all",
                                enable_idempotence=True, linger_ms=5, max_batch_size=256 * 1024,
                                max_request_size=MAX_MESSAGE)  # fmt: skip
    await consumer.start()
    await producer.start()
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        received = 0

        async def consume() -> float:
            nonlocal received
            last = 0.0
            while received < len(messages):
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batch.values():
                    received += len(records)
                    last = time.monotonic()
            return last

        reader = asyncio.create_task(consume())
        await asyncio.sleep(0.5)  # the reader's first fetch is in flight before the clock starts
        start = time.monotonic()
        futures = [await producer.send(topic, value=v, key=k, headers=h) for k, v, h in messages]
        await asyncio.gather(*futures)
        produced = time.monotonic() - start
        last = await asyncio.wait_for(reader, timeout=300)
    finally:
        await producer.stop()
        await consumer.stop()
    return Published(len(messages), round(last - start, 3), round(produced, 3))


async def up(db: Database, partner: TradingPartner, claims: int) -> tuple[dict[str, Any], int]:
    say(f"making {claims:,} claim.submitted events with their 837Ps")
    receiver = next(iter(partner.receiver_ids))
    events = [claim_event(receiver) for _ in range(claims)]
    t0 = time.perf_counter()
    async with db.session() as session:
        await record_claims(session, events, [partner])
        await session.commit()
    t1 = time.perf_counter()
    async with db.session() as session:
        built = await build_file(session, partner, force=True)
        await session.commit()
    assert built is not None and built.claim_count == claims, built
    t2 = time.perf_counter()
    assert await upload_built(db, partner, timeout_seconds=120) == 1
    t3 = time.perf_counter()
    conn = await db.connect_raw()
    try:
        size = len(await conn.fetchval("SELECT x12 FROM gateway.submission_files"))
    finally:
        await conn.close()
    stages = {
        "queued (claim.submitted -> outbound_claims)": rates(t1 - t0, 0, claims) | {"files_per_s": None},
        "built (queued -> one interchange file committed)": rates(t2 - t1, 1, claims),
        "uploaded (built -> .part written and renamed in to/)": rates(t3 - t2, 1, claims),
    }
    return {"file_bytes": size, "stages": stages}, size


async def process_each(db: Database, partners: dict[str, TradingPartner]) -> dict[str, float]:
    """The processing worker's round (inbound.usecases.process_due: lease, then each file in a
    transaction of its own), timed file by file."""
    async with db.session() as session, session.begin():
        ids = await inbound_store.take_due(session, 100, 600)
    seconds: dict[uuid.UUID, float] = {}
    for file_id in ids:
        t0 = time.perf_counter()
        async with db.session() as session, session.begin():
            row = await inbound_store.lock_received(session, file_id)
            await process(session, row, partners)
        seconds[file_id] = round(time.perf_counter() - t0, 3)
    conn = await db.connect_raw()
    try:
        kinds = await conn.fetch(
            "SELECT id, kind FROM gateway.received_files WHERE id = ANY($1::uuid[])", ids
        )
    finally:
        await conn.close()
    return {r["kind"]: seconds[r["id"]] for r in kinds}


async def down(db: Database, partner: TradingPartner, files: int, claims: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    polled = await poll(db, partner, max_file_bytes=256 * 1024 * 1024, timeout_seconds=120)
    t1 = time.perf_counter()
    assert polled.taken == files and polled.error is None, polled
    per_file = await process_each(db, {partner.id: partner})
    t2 = time.perf_counter()
    conn = await db.connect_raw()
    try:
        states = await conn.fetch("SELECT state, count(*) FROM gateway.received_files GROUP BY state")
    finally:
        await conn.close()
    assert {r["state"]: r["count"] for r in states} == {"processed": files}, states
    return {
        "taken (listed -> downloaded -> kept -> deleted)": rates(t1 - t0, files, claims),
        "processed (kept -> read -> events staged in the outbox)": rates(t2 - t1, files, claims),
        "down to events staged": rates(t2 - t0, files, claims),
        "processing seconds by kind": per_file,
    }


def old_events(rows: list[tuple[bytes, bytes, Any, str, bytes]], answers: list[tuple[str, str]]) -> list[Any]:
    """What the sandbox published before for the same answers: a JSON claim.acknowledged per
    claim (the same decisions: the gateway's staged payloads) and a remittance.received per 835."""
    events = []
    for _, _, _, kind, payload in rows:
        if kind == "claim.acknowledged.v1":
            events.append(
                new_event(ClaimAcknowledged.model_validate_json(payload), source="/partners/clearinghouse")
            )
    for n, (kind, x12_835) in enumerate(answers):
        if kind == "835":
            remittance = RemittanceReceived(
                trace_number=f"BENCH{n:06d}{uuid.uuid4().hex[:6]}", payer_id="SBX001", x12_835=x12_835,
                received_at="2026-12-05T00:00:00Z",
            )  # fmt: skip
            events.append(new_event(remittance, source="/partners/clearinghouse"))
    return events


async def run(args: argparse.Namespace, admin: str, name: str, tmp: Path) -> dict[str, Any]:
    url = await fresh_database(admin, name)
    kafka = admin_kafka()
    settings = Settings(database_url=url, **settings_fields(kafka))
    await asyncio.to_thread(migrate, ["gateway"], settings, topics=False)
    db = Database(url, "gateway", pool_size=4)
    state = tmp / "sandbox.sqlite3"
    env = {"SANDBOX_STATE_PATH": str(state),
           "SANDBOX_REMITTANCE_MODE": "immediate", "LOG_LEVEL": "WARNING"}  # fmt: skip
    run_id = uuid.uuid4().hex[:8]
    try:
        async with sandbox_process(env, mailbox=True, mailbox_dir=tmp / "box") as sandbox:
            partner = TradingPartner.model_validate(
                partner_config(
                    sandbox,
                    isa_receiver_id=TEST_RECEIVER_ID,
                    gs_receiver_id=TEST_RECEIVER_ID,
                    batch_max_claims=args.claims,
                    poll_seconds=3600,
                )
            )
            upward, _ = await up(db, partner, args.claims)
            say(f"up: {json.dumps(upward['stages'])}")
            t0 = time.perf_counter()
            answers = await wait_for_answers(state)
            sandbox_s = time.perf_counter() - t0
            kinds = [k for k, _ in answers]
            say(
                f"the sandbox answered in {sandbox_s:.1f} s: "
                f"{', '.join(sorted(set(kinds)))} ({len(kinds)} files)"
            )
            downward = await down(db, partner, len(answers), args.claims)
            say(f"down: {json.dumps(downward)}")
        rows = await staged(db)
        published = await produce_and_read(kafka, f"bench.mailbox.{run_id}.gateway", [r[:3] for r in rows])
        t0 = time.perf_counter()
        events = old_events(rows, answers)
        messages = [encode(e)[1:] for e in events]
        encode_s = time.perf_counter() - t0
        baseline = await produce_and_read(kafka, f"bench.mailbox.{run_id}.json", messages)
    finally:
        await db.dispose()
        with contextlib.suppress(Exception):
            await delete_topics(kafka, [f"bench.mailbox.{run_id}."], None)
    return summarize(args.claims, answers, upward, downward, sandbox_s, rows, published, baseline, encode_s)


def summarize(
    claims: int,
    answers: list[tuple[str, str]],
    upward: dict[str, Any],
    downward: dict[str, Any],
    sandbox_s: float,
    rows: list[Any],
    published: Any,
    baseline: Any,
    encode_s: float,
) -> dict[str, Any]:
    files = len(answers)
    mailbox_total = downward["down to events staged"]["seconds"] + published.seconds
    baseline_total = encode_s + baseline.seconds
    kinds: dict[str, int] = {}
    for kind, _ in answers:
        kinds[kind] = kinds.get(kind, 0) + 1
    events_by_type: dict[str, int] = {}
    for row in rows:
        events_by_type[row[3]] = events_by_type.get(row[3], 0) + 1
    result = {
        "claims": claims,
        "up": upward,
        "sandbox_answer_seconds": round(sandbox_s, 2),
        "answers": kinds,
        "answer_bytes": sum(len(t) for _, t in answers),
        "down": downward,
        "events_staged": events_by_type,
        "mailbox_events_to_kafka_and_read": {"messages": published.messages, "seconds": published.seconds},
        "mailbox_down_total": rates(mailbox_total, files, claims),
        "baseline_kafka_json": {
            "messages": baseline.messages,
            "make_events_seconds": round(encode_s, 3),
            "produce_and_read_seconds": baseline.seconds,
            **rates(baseline_total, 0, claims),
        },
        "ratio_down_claims_per_s_mailbox_over_kafka": round(baseline_total / mailbox_total, 3),
    }
    result["baseline_kafka_json"]["files_per_s"] = None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    logging.basicConfig(level=logging.WARNING)
    result = run_in_scratch_database(parser.parse_args(), "bench_mailbox", run)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    up_s = result["up"]["stages"]["uploaded (built -> .part written and renamed in to/)"]
    print(
        f"up: one {result['claims']:,}-claim file ({result['up']['file_bytes']:,} bytes) uploaded in "
        f"{up_s['seconds']} s ({up_s['claims_per_s']:,} claims/s)\n"
        f"down (mailbox): {result['mailbox_down_total']} claims/s to events on Kafka\n"
        f"down (Kafka JSON, before): {result['baseline_kafka_json']['claims_per_s']:,} claims/s\n"
        f"ratio mailbox / Kafka-only: {result['ratio_down_claims_per_s_mailbox_over_kafka']} x\n"
        f"written to {RESULT.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
