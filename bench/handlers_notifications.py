"""CPU and SQL statements per event of the notifications handlers, without Kafka.

`python -m bench.handlers_notifications [--events 2000] [--poll 500] [--dump FILE]` pushes
events through the notifications service's real `EventConsumer.process(records)` (decode, inbox
dedupe, handlers, commit), poll by poll, against a database of its own
(`<TEST_DATABASE_NAME or db>_bench_handlers_notifications`, recreated and migrated each run),
and prints, per scenario, CPU ms/event (`time.process_time` of this process: the handler's
Python, not PostgreSQL's) and SQL statements/event (a `before_cursor_execute` listener; BEGIN
and COMMIT are not counted), for:

  floor   the same records through a no-op handler: the consumer's own cost (decode, inbox
          insert, transaction), measured in the same run, so the ratios below hold across
          machines and loads;
  service the handlers the service registers (`SERVICE.handlers`), so a before/after
          comparison is this script run on two commits.

Scenarios:
  pipeline  what the pipeline benchmark sends: an insurer `payment.posted` per claim (as
            payments posts an 835 claim: CLP/CAS figures, trace number) for a patient not in
            the directory, so one in-app message and one `notification.sent` each;
  mixed     every topic the service consumes, round robin: directory patients with email and
            SMS, opt-outs and quiet hours, a required collections notice to an opted-out
            patient, a collections agency name the PHI guard refuses (notification.failed),
            staff fan-out by role and by payer subscription, events that plan nothing, and
            two events for one patient in one poll.

After each scenario the same records go through the handlers once more under a new consumer
group (an empty inbox): the unique keys must add nothing (printed as "replay added").
`--dump FILE` writes what the service recorded (inbox messages, deliveries and outbox events per
key, ids replaced by stable ones, event ids fixed per run) as JSON, so two commits' dumps can be
compared with `diff` to show a change kept every effect. It reports and never judges.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiokafka import ConsumerRecord
from pydantic import BaseModel
from sqlalchemy import event as sa_event, text

from bench.common import ParkingDlq, fresh_database, throwaway_partner_keys
from services.notifications.service import SERVICE
from services.notifications.templates.domain import SAMPLE_EVENTS
from shared import context
from shared.config import Settings, asyncpg_dsn, service_database_url
from shared.consumer import EventConsumer, records_of
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import (
    Adjustment,
    PaymentPosted,
)
from shared.events.envelope import Event
from shared.events.signing import PartnerKeys, PartnerSigner
from shared.kafka import KafkaAccess
from shared.migrate import migrate

PAYERS = ("SBX001", "SBX002", "SBX003")
STAFF = [
    # (id, roles, payer subscriptions)
    ("staff-billing-1", ["billing"], []),
    ("staff-billing-2", ["billing"], []),
    ("staff-manager", ["manager"], []),
    ("staff-coding", ["coding"], []),
    ("staff-front", ["front_desk"], []),
    ("staff-payer-sbx003", [], ["SBX003"]),
]


def bench_database(admin_url: str) -> str:
    parts = urlsplit(admin_url)
    base = os.environ.get("TEST_DATABASE_NAME") or parts.path.lstrip("/") or "postgres"
    return asyncio.run(fresh_database(admin_url, f"{base}_bench_handlers_notifications"))


# --- events -------------------------------------------------------------------------------


def insurer_payment(i: int, account: str, now: datetime) -> PaymentPosted:
    """A `payment.posted` as payments posts one 835 claim (services/payments/postings)."""
    charge = Decimal(150 + (i % 17) * 25)
    allowed = (charge * Decimal("0.8")).quantize(Decimal("0.01"))
    pr = Decimal(20 + i % 3 * 10)
    return PaymentPosted(
        payment_id=uuid.UUID(int=(1 << 64) + i),
        source="insurer",
        claim_id=uuid.UUID(int=(2 << 64) + i),
        account_id=account,
        amount=allowed - pr,
        method="eft",
        posted_at=now,
        payer_id=PAYERS[i % len(PAYERS)],
        patient_control_number=f"PCN{i:010d}",
        payer_claim_control_number=f"PCCN{i:08d}",
        claim_status_code="1",
        charge=charge,
        allowed=allowed,
        patient_responsibility=pr,
        adjustments=[
            Adjustment(group_code="CO", reason_code="45", amount=charge - allowed),
            Adjustment(group_code="PR", reason_code="2", amount=pr),
        ],
        remark_codes=["N130"] if i % 5 == 0 else [],
        trace_number=f"TRN{i // 50:08d}",
    )


def pipeline_payloads(n: int, now: datetime) -> list[BaseModel]:
    return [insurer_payment(i, f"PAT-{i:08d}", now) for i in range(n)]


def mixed_payloads(n: int, now: datetime) -> list[BaseModel]:
    """Every template's sample event (services/notifications/samples.py) with this run's ids,
    directory patients, payers and times."""
    today = now.date()

    def sample(template: str, **update: Any) -> BaseModel:
        return SAMPLE_EVENTS[template][1].model_copy(update=update)

    def uid(tag: int, i: int) -> uuid.UUID:
        return uuid.UUID(int=(tag << 64) + i)

    def patient(i: int) -> str:
        return f"DIR-{i % 40:03d}"

    makers: list[Callable[[int], BaseModel]] = [
        lambda i: insurer_payment(i, patient(i), now),
        lambda i: sample(
            "payment_receipt",
            payment_id=uid(3, i),
            account_id=patient(i),
            amount=Decimal("25.00") + i % 7,
            posted_at=now,
            receipt_number=f"R-BENCH-{i:06d}",
        ),
        lambda i: sample(
            "statement_ready",
            statement_id=uid(4, i),
            account_id=patient(i),
            due_date=today + timedelta(days=30),
            issued_at=now,
        ),
        lambda i: sample(
            "installment_reminder",
            plan_id=uid(5, i),
            account_id=patient(i),
            due_date=today + timedelta(days=5),
        ),
        lambda i: sample(
            "payment_late", plan_id=uid(5, i), account_id=patient(i), due_date=today - timedelta(days=10)
        ),
        lambda i: sample(
            "coverage_problem",
            check_id=uid(6, i),
            patient_id=patient(i),
            status="inactive" if i % 2 else "active",  # an active check plans nothing
            date_of_service=today + timedelta(days=3),
            checked_at=now,
        ),
        lambda i: sample(
            "collections_notice",
            account_id=patient(i),
            # Every other notice names its agency with what the PHI guard reads as a member id.
            agency="Acme Recovery Services" if i % 2 else "Acme member id ZX12345",
            referred_at=now,
        ),
        lambda i: sample(
            "claim_denied", claim_id=uid(7, i), payer_id=PAYERS[i % 3], patient_id=patient(i), denied_at=now
        ),
        lambda i: sample(
            "claim_rejected",
            claim_id=uid(8, i),
            patient_control_number=f"PCN{i:08d}",
            rejected_at=now,
            payer_id=PAYERS[i % 3],
        ),
        lambda i: sample(
            "claim_followup", claim_id=uid(9, i), payer_id=PAYERS[i % 3], submitted_at=now, due_at=now
        ),
        lambda i: sample("payment_underpaid", claim_id=uid(10, i), payer_id=PAYERS[i % 3], detected_at=now),
        lambda i: sample(
            "authorization_expiring",
            authorization_id=uid(11, i),
            patient_id=patient(i),
            payer_id=PAYERS[i % 3],
            end_date=today + timedelta(days=5),
        ),
    ]
    return [makers[i % len(makers)](i) for i in range(n)]


def events_of(payloads: Sequence[BaseModel], scenario: str, now: datetime) -> list[Event]:
    """Events with ids and times fixed per (scenario, index), each with its own correlation id."""
    events = []
    for i, payload in enumerate(payloads):
        context.start(f"{scenario}-corr-{i}")
        event = new_event(payload, source="/bench")
        events.append(replace(event, id=uuid.uuid5(uuid.NAMESPACE_URL, f"{scenario}/{i}"), time=now))
    context.reset()
    return events


# --- the directory --------------------------------------------------------------------------


async def seed_directory(db_url: str) -> None:
    """40 patients with email and SMS (some opted out of SMS receipts, some with quiet hours
    all day, every one opted out of collections email) and the staff."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        now = datetime.now(UTC)
        rows = [
            (f"DIR-{i:03d}", "patient", f"dir-{i}@bench.example", f"+1555555{i:04d}", "UTC", [], [], now)
            for i in range(40)
        ]
        rows += [
            (sid, "staff", f"{sid}@practice.example", None, "America/New_York", roles, payers, now)
            for sid, roles, payers in STAFF
        ]
        await conn.executemany(
            "INSERT INTO notifications.recipients "
            "(id, kind, email, phone, timezone, roles, payer_ids, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            rows,
        )
        prefs = []
        for i in range(40):
            if i % 4 == 0:
                prefs.append((f"DIR-{i:03d}", "receipts", "sms", False, None, None))
            if i % 4 == 1:
                allday = (datetime.min.time(), datetime.max.time().replace(microsecond=0))
                prefs.append((f"DIR-{i:03d}", "receipts", "email", True, *allday))
                prefs.append((f"DIR-{i:03d}", "collections", "sms", True, *allday))
            prefs.append((f"DIR-{i:03d}", "collections", "email", False, None, None))
        prefs.append(("staff-billing-2", "denials", "email", False, None, None))
        await conn.executemany(
            "INSERT INTO notifications.preferences "
            "(recipient_id, category, channel, opt_in, quiet_start, quiet_end) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            prefs,
        )
    finally:
        await conn.close()


# --- measuring ------------------------------------------------------------------------------


class Counted:
    """SQL statements sent through the engine (a before_cursor_execute listener)."""

    def __init__(self, db: Database) -> None:
        self.n = 0
        sa_event.listen(db.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.n += 1


async def run_through(
    db: Database,
    counted: Counted,
    handlers: dict[str, Any],
    records: list[ConsumerRecord],
    poll: int,
    keys: PartnerKeys,
) -> dict[str, float]:
    dlq = ParkingDlq()
    consumer = EventConsumer(
        db,
        KafkaAccess("unused:9092", None, None),
        service="bench-notifications",
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        handlers=handlers,
        dlq_producer=dlq,  # type: ignore[arg-type]
        partner_keys=keys,
    )
    statements = counted.n
    cpu = time.process_time()
    for start in range(0, len(records), poll):
        await consumer.process(records[start : start + poll])
    cpu = time.process_time() - cpu
    n = len(records)
    return {
        "cpu_ms_per_event": 1000 * cpu / n,
        "statements_per_event": (counted.n - statements) / n,
        "dead_lettered": len(dlq.parked),
    }


async def counts(db: Database) -> tuple[int, int, int]:
    async with db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM inbox_messages), (SELECT count(*) FROM deliveries), "
                    "(SELECT count(*) FROM outbox WHERE topic LIKE 'notification.%')"
                )
            )
        ).one()
    return row[0], row[1], row[2]


async def dump(db: Database) -> dict[str, Any]:
    """What the service recorded, with its random ids replaced by stable ones."""
    async with db.session() as session:
        messages = (
            await session.execute(
                text(
                    "SELECT id, recipient_id, template, template_version, subject, body, cause_event_id, "
                    "cause_event_type, category, required FROM inbox_messages "
                    "ORDER BY cause_event_id, recipient_id"
                )
            )
        ).all()
        deliveries = (
            await session.execute(
                text(
                    "SELECT d.notification_id, d.recipient_id, d.channel, d.address, d.template, "
                    "d.template_version, d.subject, d.body, d.cause_event_id, d.status, d.reason, "
                    "d.attempts, "
                    "d.next_attempt_at > d.created_at AS deferred, d.sent_at IS NOT NULL AS sent, "
                    "d.created_at = m.created_at AS same_time "
                    "FROM deliveries d JOIN inbox_messages m ON m.id = d.notification_id "
                    "ORDER BY d.cause_event_id, d.recipient_id, d.channel"
                )
            )
        ).all()
        outbox = (
            await session.execute(
                text(
                    "SELECT topic, event_key, event_type, headers, payload FROM outbox "
                    "WHERE topic LIKE 'notification.%' ORDER BY id"
                )
            )
        ).all()
    ids = {m.id: f"{m.cause_event_id}/{m.recipient_id}" for m in messages}

    def stable(payload: bytes) -> dict[str, Any]:
        data = json.loads(payload)
        data["notification_id"] = ids.get(uuid.UUID(data["notification_id"]), "?")
        for moment in ("sent_at", "failed_at"):
            data.pop(moment, None)
        return data

    def heads(headers: Any) -> dict[str, Any]:
        h = headers if isinstance(headers, dict) else json.loads(headers)
        return {k: h.get(k) for k in ("ce_type", "ce_source", "ce_subject", "ce_correlationid")}

    return {
        "inbox_messages": [[str(v) for v in tuple(m)[1:]] for m in messages],
        "deliveries": [[ids[d[0]], *(str(v) for v in tuple(d)[1:])] for d in deliveries],
        # Per key (the recipient), in the order staged: the only order Kafka keeps. A staff
        # fan-out's recipients come in whatever order the directory query returns them.
        "outbox": sorted(
            ([o.topic, o.event_key, o.event_type, heads(o.headers), stable(o.payload)] for o in outbox),
            key=lambda o: o[1],
        ),
    }


async def noop(session: Any, event: Event) -> None:
    return None


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over the repeats (the machine is shared: single runs wander)."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


async def bench(db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The measures, with throwaway partner keys: the clearinghouse's claim.rejected events are
    signed as it would sign them and verified as the service does."""
    with throwaway_partner_keys() as (_, signer, public):
        return await _measure(db_url, args, signer, public)


async def _measure(
    db_url: str, args: argparse.Namespace, signer: PartnerSigner, keys: PartnerKeys
) -> dict[str, Any]:
    settings = Settings(database_url=db_url)
    db = Database(service_database_url("notifications", settings), "notifications", pool_size=2)
    counted = Counted(db)
    now = datetime.now(UTC).replace(microsecond=0)
    noops = dict.fromkeys(SERVICE.handlers, noop)
    results: dict[str, Any] = {}
    try:
        # Warm up (first statements prepared, templates compiled), as a running service is.
        for scenario, make in (("warm-pipeline", pipeline_payloads), ("warm-mixed", mixed_payloads)):
            records = records_of(
                events_of(make(min(args.events, 240), now), scenario, now), encoder=signer.encode
            )
            await run_through(db, counted, noops, records, args.poll, keys)
            await run_through(db, counted, SERVICE.handlers, records, args.poll, keys)
        for scenario, make in (("pipeline", pipeline_payloads), ("mixed", mixed_payloads)):
            floors, services = [], []
            before = await counts(db)
            for repeat in range(args.repeat):
                name = f"{scenario}-r{repeat}"
                records = records_of(events_of(make(args.events, now), name, now), encoder=signer.encode)
                floors.append(await run_through(db, counted, noops, records, args.poll, keys))
                services.append(await run_through(db, counted, SERVICE.handlers, records, args.poll, keys))
            after = await counts(db)
            await run_through(db, counted, SERVICE.handlers, records, args.poll, keys)
            replayed = await counts(db)
            results[scenario] = {
                "floor": _median(floors),
                "service": _median(services),
                "recorded_per_repeat": {
                    k: (a - b) / args.repeat
                    for k, a, b in zip(("inbox_messages", "deliveries", "events"), after, before, strict=True)
                },
                "replay_added": [b - a for a, b in zip(after, replayed, strict=True)],
            }
        if args.dump:
            recorded = json.dumps(await dump(db), indent=1, sort_keys=True, default=str)
            Path(args.dump).write_text(recorded)  # noqa: ASYNC240 - once, at the end
    finally:
        await db.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per scenario (2000)")
    parser.add_argument("--poll", type=int, default=500, help="records per consumer.process call (500)")
    parser.add_argument("--repeat", type=int, default=5, help="measured passes per scenario; medians (5)")
    parser.add_argument("--dump", help="write what was recorded, with stable ids, to this JSON file")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    warnings.simplefilter("ignore")  # sqlmodel's advice to use session.exec, once per call site
    admin_url = os.environ.get("DATABASE_URL", "postgresql://revcycle:revcycle@127.0.0.1:55432/revcycle")
    db_url = bench_database(admin_url)
    migrate(["notifications"], Settings(database_url=db_url), topics=False)
    asyncio.run(seed_directory(db_url))
    results = asyncio.run(bench(db_url, args))
    print(f"{args.events} events per pass, polls of {args.poll}, medians of {args.repeat} passes")
    print(f"{'scenario':<9} {'handler':<8} {'CPU ms/event':>13} {'stmts/event':>12} {'DLQ':>4}")
    for scenario, r in results.items():
        for name in ("floor", "service"):
            m = r[name]
            print(
                f"{scenario:<9} {name:<8} {m['cpu_ms_per_event']:>13.3f} "
                f"{m['statements_per_event']:>12.3f} {m['dead_lettered']:>4}"
            )
        f, s = r["floor"], r["service"]
        print(
            f"{scenario:<9} service over floor: CPU x{s['cpu_ms_per_event'] / f['cpu_ms_per_event']:.2f}, "
            f"handler alone {s['cpu_ms_per_event'] - f['cpu_ms_per_event']:.3f} ms/event, "
            f"{s['statements_per_event'] - f['statements_per_event']:.3f} statements/event; "
            f"recorded per pass {r['recorded_per_repeat']}; replay added {r['replay_added']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
