"""CPU and statements per event of the payments consumer's two handlers, without Kafka.

    python -m bench.handlers_payments [--claims 2000] [--poll 250] [--dump rows.json]

Why: the pipeline benchmark is CPU-bound on a 2-core machine shared by every service, so
wall-clock throughput says little about one service. This pushes realistic events straight
through the service's own `EventConsumer.process(records)` (inbox, one transaction per poll,
the handlers of `services.payments.service.SERVICE`) and counts what it costs:
`time.process_time()` per event and SQL statements per event (a `before_cursor_execute`
listener, BEGIN/COMMIT excluded).

The events are built as the platform builds them: the EHR generator's encounters
(`deploy.payer_sandbox.ehr`, 75 % SBX001 paid immediately with one CLP per 835, 25 % SBX003
remitted in batched 835s with many CLPs) become `claim.submitted` events with a real 837P,
and the payer sandbox's own claim pipeline adjudicates them offline into `remittance.received`
835s. Claims go through in polls of `--poll` records first, then the remittances.

In the same run, the same records go through a consumer whose handlers do nothing (another
consumer group): the consumer's own floor (decode, inbox, commit). The table prints each
handler's cost above that floor. `--dump` writes the resulting rows without generated ids
and times, to compare two versions of the handlers for identical effects.

Isolation: its own database (`<db>_bench_handlers_payments`, dropped and recreated), so
running services and tests are not disturbed; nothing is published to Kafka.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiokafka.structs import ConsumerRecord
from sqlalchemy import event as sa_event

from bench.common import ParkingDlq, drop_database, fresh_database, throwaway_partner_keys
from deploy.payer_sandbox import ehr
from deploy.payer_sandbox.clearinghouse import Clearinghouse
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.data import default_tables
from deploy.payer_sandbox.store import SandboxStore
from deploy.payer_sandbox.testing import SampleLine, sample_837
from services.payments.service import SERVICE
from shared import context
from shared.config import Settings, service_database_url
from shared.consumer import EventConsumer, batched, records_of
from shared.db import Database
from shared.events import Event, new_event
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted
from shared.events.envelope import decode
from shared.events.signing import PartnerKeys
from shared.kafka import KafkaAccess
from shared.migrate import migrate


def claim_events(count: int, seed: int) -> list[Event]:
    """`claim.submitted` as the claims service publishes it, one per EHR encounter."""
    events = []
    for i, enc in enumerate(ehr.encounters(seed, count, run_id=f"bench{seed}")):
        pcn = f"HB{seed:02d}{i:09d}"
        dos = enc.date_of_service
        lines = [
            SampleLine(line.code, str(line.charge), modifiers=tuple(line.modifiers)) for line in enc.lines
        ]
        coverage = enc.coverages[0]
        context.start(f"corr-claim-{i}")
        events.append(
            new_event(
                ClaimSubmitted(
                    claim_id=uuid.UUID(int=(seed << 64) + i),
                    patient_control_number=pcn,
                    patient_id=enc.patient_id,
                    account_id=enc.patient_id,
                    payer_id=coverage.payer_id,
                    total_charge=sum(line.charge for line in enc.lines),
                    x12_837=sample_837(
                        pcn,
                        coverage.member_id,
                        lines,
                        date_of_service=dos.strftime("%Y%m%d"),
                        payer_id=coverage.payer_id,
                        control_number=i + 1,
                    ),
                    submitted_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
                    date_of_service=dos,
                    lines=[
                        ClaimLineSummary(
                            line_number=n,
                            code=line.code,
                            modifiers=line.modifiers,
                            charge=line.charge,
                            date_of_service=dos,
                        )
                        for n, line in enumerate(enc.lines, start=1)
                    ],
                ),
                source="/services/claims",
            )
        )
    context.reset()
    return events


async def remittance_events(claims: list[Event], poll: int, seed: int, keys: Path) -> list[Event]:
    """The payer sandbox's 835s for these claims (its clearinghouse run offline over an
    in-memory store, signing with the private keys under `keys`: what it would publish is read
    from its outbox). The batched payer is flushed once per poll of claims."""
    store = SandboxStore(None)
    config = SandboxConfig(seed=seed, receiver_ids=None, log_level="WARNING", signing_keys_dir=str(keys))
    house = Clearinghouse(config, default_tables(), store)
    out: list[Event] = []
    for start in range(0, len(claims), poll):
        with store.transaction():
            for event in claims[start : start + poll]:
                context.start(event.correlation_id, event.traceparent)
                house.handle(event)
            house.flush(force=True)
        rows = store.unpublished(len(claims) * 4 + 100)
        out += [decode(r.topic, r.key, r.value, r.headers) for r in rows if r.topic == "remittance.received"]
        with store.transaction():
            store.published([r.id for r in rows])
    context.reset()
    store.close()
    return out


async def _noop(session: Any, events: Sequence[Event]) -> None:
    return None


async def run_through(
    db: Database, group: str, handlers: dict[str, Any], polls: list[list[ConsumerRecord]], keys: PartnerKeys
) -> tuple[float, int, ParkingDlq]:
    """CPU seconds and statements for these polls through a fresh consumer group (which checks
    the partners' signatures with `keys`, as the service does)."""
    dlq = ParkingDlq()
    unused = KafkaAccess("unused:9092", None, None)
    consumer = EventConsumer(
        db, unused, service="payments", handlers=handlers, group_id=group, partner_keys=keys
    )
    consumer._producer = dlq  # type: ignore[assignment]
    statements = 0

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal statements
        if statement not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements += 1

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        cpu = 0.0
        for poll in polls:
            started = time.process_time()
            await consumer.process(poll)
            cpu += time.process_time() - started
    finally:
        sa_event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    return cpu, statements, dlq


async def dump(db: Database) -> dict[str, list[Any]]:
    """Rows of every table the handlers write, without generated ids and times, in order."""
    queries = {
        "claim_copies": "SELECT claim_id, patient_control_number, account_id, payer_id, frequency_code, "
        "total_charge, lines FROM claim_copies ORDER BY claim_id",
        "remittances": "SELECT payer_id, trace_number, amount, claims_paid, method, source, received_by "
        "FROM remittances ORDER BY payer_id, trace_number",
        "claim_postings": "SELECT p.claim_id, p.account_id, r.trace_number, p.status_code, p.paid, "
        "p.allowed, p.adjustments, p.lines, p.matched_by, p.clp_position FROM claim_postings p "
        "JOIN remittances r ON r.id = p.remittance_id ORDER BY r.trace_number, p.clp_position",
        "ledger_entries": "SELECT account_id, entry_type, amount, bucket, description, claim_id, group_code, "
        "reason_code, service_date FROM ledger_entries ORDER BY id",
        "unmatched_claims": "SELECT patient_control_number, status_code, reason, claim FROM unmatched_claims "
        "ORDER BY patient_control_number, status_code",
        "outbox": "SELECT topic, event_key, event_type, "
        "convert_from(payload, 'UTF8')::jsonb - 'payment_id' - 'posted_at' - 'detected_at' AS payload, "
        "headers->>'ce_correlationid' AS correlation FROM outbox ORDER BY id",
    }
    raw = await db.connect_raw()
    try:
        return {
            name: [json.loads(json.dumps(dict(r), default=str)) for r in await raw.fetch(sql)]
            for name, sql in queries.items()
        }
    finally:
        await raw.close()


async def main(args: argparse.Namespace) -> None:
    # Throwaway partner keys: the clearinghouse signs its 835s, the consumer verifies them.
    with throwaway_partner_keys() as (private, signer, public):
        claims = claim_events(args.claims, args.seed)
        remits = await remittance_events(claims, args.poll, args.seed, private)
        remit_polls = [
            records_of(remits[i : i + args.poll], encoder=signer.encode)
            for i in range(0, len(remits), args.poll)
        ]
    claim_polls = [records_of(claims[i : i + args.poll]) for i in range(0, len(claims), args.poll)]
    clps = sum(e.data.x12_835.count("CLP*") for e in remits)  # type: ignore[attr-defined]
    print(
        f"{len(claims)} claim.submitted in {len(claim_polls)} polls; {len(remits)} remittance.received "
        f"({clps} CLPs) in {len(remit_polls)} polls"
    )

    base = os.environ.get("DATABASE_URL", "postgresql://revcycle:revcycle@127.0.0.1:55432/revcycle")
    name = f"{urlsplit(base).path.lstrip('/') or 'revcycle'}_bench_handlers_payments"
    settings = Settings(database_url=await fresh_database(base, name), log_level="WARNING")
    await asyncio.to_thread(migrate, ["payments"], settings, topics=False)
    db = Database(service_database_url("payments", settings), "payments", pool_size=2)
    try:
        noop = {topic: batched(_noop) for topic in SERVICE.handlers}
        floor_c, floor_cs, _ = await run_through(db, "floor", noop, claim_polls, public)
        floor_r, floor_rs, _ = await run_through(db, "floor", noop, remit_polls, public)
        real_c, real_cs, _ = await run_through(db, "payments", dict(SERVICE.handlers), claim_polls, public)
        real_r, real_rs, dlq = await run_through(db, "payments", dict(SERVICE.handlers), remit_polls, public)
        raw = await db.connect_raw()
        try:
            counts = {
                t: await raw.fetchval(f"SELECT count(*) FROM {t}")
                for t in (
                    "claim_copies",
                    "remittances",
                    "claim_postings",
                    "unmatched_claims",
                    "ledger_entries",
                    "outbox",
                )
            }
        finally:
            await raw.close()
        if args.dump:
            rows = await dump(db)
            await asyncio.to_thread(Path(args.dump).write_text, json.dumps(rows, indent=0, sort_keys=True))
    finally:
        await db.dispose()
        await drop_database(base, name)

    def row(label: str, n: int, cpu: float, stmts: int, floor_cpu: float, floor_stmts: int) -> str:
        return (
            f"{label:22} {cpu / n * 1000:10.3f} {stmts / n:10.2f} {floor_cpu / n * 1000:10.3f} "
            f"{floor_stmts / n:8.2f} {(cpu - floor_cpu) / n * 1000:10.3f} {(stmts - floor_stmts) / n:10.2f}"
        )

    heads = ("CPU ms", "stmts", "floor ms", "floor st", "above ms", "above st")
    print(f"\n{'per event':22} " + " ".join(f"{h:>10}" if i != 3 else f"{h:>8}" for i, h in enumerate(heads)))
    print(row("claim.submitted", len(claims), real_c, real_cs, floor_c, floor_cs))
    print(row("remittance.received", len(remits), real_r, real_rs, floor_r, floor_rs))
    n = len(claims)
    print(
        row("both, per claim", n, real_c + real_r, real_cs + real_rs, floor_c + floor_r, floor_cs + floor_rs)
    )
    print(
        "rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f"; dead-lettered {len(dlq.parked)}"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--poll", type=int, default=250, help="records per poll")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dump", help="write the resulting rows (no ids, no times) to this JSON file")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
