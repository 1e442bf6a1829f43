"""Notifications benchmark: events → Kafka → handler → delivery worker → SMTP sink.

`python -m bench.notifications [--events N]` measures, in one run:

  A. baseline: raw aiosmtplib sends of N messages of the same size to the same sink, with the
     same concurrency as the delivery worker (one SMTP connection per message, as the worker);
  B. end to end: N `payment.posted`-shaped events for N patients with an email address are
     produced to Kafka; the real `EventConsumer` runs the real handler (plan, render the
     template, record the in-app message and the deliveries), the real delivery worker sends the
     emails through the real email adapter to the sink. Notifications/s = N / (last email received
     minus first event produced); latency per event = sink receipt minus produce time;
  C. the same, paced at --rate events/s: the event → email latency below saturation (p50/p90/p99).

It prints B / A. It reports and never judges (no timing assertion; exit 0 whenever it ran).

Isolation: its own database (`<db>_bench_notifications`, recreated each run, migrated with
the notifications history), its own topic (`bench.notify.<runid>`, deleted afterwards, event
type registered in this process's catalogue only) and consumer group, and its own sink (a
separate process on free ports), so running services and test suites see none of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench.common import admin_kafka, free_port, fresh_database
from bench.run import delete_topics, percentile
from deploy import infra
from services.notifications.deliveries.workers import deliver_due, sender
from services.notifications.messages import usecases as handlers
from services.notifications.settings import NotificationSettings
from shared.app import ServiceDefinition, Worker, create_app
from shared.config import Settings, asyncpg_dsn
from shared.consumer import batched
from shared.events import catalogue
from shared.events.catalogue import EventSpec, PaymentPosted
from shared.events.envelope import encode, new_event
from shared.kafka import KafkaAccess, client_kwargs, ensure_topics, settings_fields
from shared.migrate import migrate

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "notifications.json"


class BenchPayment(PaymentPosted):
    """A patient payment on the bench's own topic (same fields, handled as payment.posted)."""


def register(run_id: str) -> EventSpec:
    topic = f"bench.notify.{run_id}"
    spec = EventSpec(
        f"{topic}.v1", topic, BenchPayment, ("account_id",), "bench", ("bench",), "Bench payment."
    )
    catalogue.CATALOGUE[spec.type] = spec
    catalogue._BY_PAYLOAD[BenchPayment] = spec
    return spec


@contextlib.contextmanager
def sink_process() -> Any:
    """The sink as `make up` runs it, in its own process (it does not share our CPU)."""
    smtp, http = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.smtp_sink", "--smtp-port", str(smtp), "--http-port", str(http)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{http}/health/ready", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.1)
        yield smtp, f"http://127.0.0.1:{http}"
    finally:
        proc.terminate()
        proc.wait(10)


def bench_database(admin_url: str) -> str:
    name = f"{urlsplit(admin_url).path.lstrip('/') or 'postgres'}_bench_notifications"
    return asyncio.run(fresh_database(admin_url, name))


async def sink_messages(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    resp = await client.get("/messages")
    resp.raise_for_status()
    return resp.json()


async def baseline(n: int, smtp_port: int, base_url: str, concurrency: int, body: str) -> float:
    """Raw aiosmtplib: N sends of the same size at the worker's concurrency; messages/s."""
    limit = asyncio.Semaphore(concurrency)

    async def send(i: int) -> None:
        message = EmailMessage()
        message["From"] = "billing@practice.example"
        message["To"] = f"raw-{i}@bench.example"
        message["Subject"] = "Sandbox Family Practice: payment received"
        message.set_content(body)
        async with limit:
            await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port, timeout=30)

    started = time.perf_counter()
    await asyncio.gather(*(send(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=base_url) as client:
        await client.delete("/messages")
    return n / elapsed


async def end_to_end(
    n: int,
    spec: EventSpec,
    db_url: str,
    bootstrap: KafkaAccess,
    smtp_port: int,
    base_url: str,
    group: str,
    *,
    rate: float = 0,
    phase: str = "throughput",
) -> dict[str, Any]:
    """N events (unpaced, or paced at `rate`/s) for N recipients; what reached the sink."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        now = datetime.now(UTC)
        await conn.executemany(
            "INSERT INTO notifications.recipients (id, kind, email, created_at, updated_at) "
            "VALUES ($1, 'patient', $2, $3, $3)",
            [(f"{phase}-{i}", f"{phase}-{i}@bench.example", now) for i in range(n)],
        )
    finally:
        await conn.close()

    async def on_bench(session: Any, events: Any) -> None:
        await handlers.handle_all(session, events, "payment.posted")

    definition = ServiceDefinition(
        name="notifications",
        title="bench",
        description="bench",
        handlers={spec.topic: batched(on_bench)},  # as the service registers its handler
        lifespan=sender,
        workers=[Worker("email-deliveries", deliver_due("email"), every_seconds=0.05)],
    )
    settings = Settings(
        database_url=db_url,
        **settings_fields(bootstrap),
        consumer_group_prefix=group,
        log_level="WARNING",
    )
    app = create_app(definition, settings)
    app.state.notification_settings = NotificationSettings(smtp_port=smtp_port, sms_url=f"{base_url}/sms")
    produced: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
        producer = AIOKafkaProducer(**client_kwargs(bootstrap), acks="all", linger_ms=5)
        await producer.start()
        try:
            first = time.time()
            for i in range(n):
                payload = BenchPayment(
                    payment_id=uuid.uuid4(),
                    source="patient",
                    account_id=f"{phase}-{i}",
                    amount=Decimal("25.00") + i % 100,
                    method="card",
                    posted_at=datetime.now(UTC),
                    receipt_number=f"R-BENCH-{i:06d}",
                )
                topic, key, value, headers = encode(new_event(payload, source="/bench/notifications"))
                if rate:
                    await asyncio.sleep(max(0.0, first + i / rate - time.time()))
                produced[f"{phase}-{i}@bench.example"] = time.time()
                await producer.send(topic, value, key=key, headers=headers)
            await producer.flush()
        finally:
            await producer.stop()
        async with httpx.AsyncClient(base_url=base_url) as client:
            deadline = time.monotonic() + max(120, n / 20)
            while len(messages := await sink_messages(client)) < n and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            await client.delete("/messages")
    latencies = sorted(
        datetime.fromisoformat(m["received_at"]).timestamp() - produced[m["rcpt_tos"][0]]
        for m in messages
        if m["rcpt_tos"][0] in produced
    )
    last = max(datetime.fromisoformat(m["received_at"]).timestamp() for m in messages)
    per_recipient = len({m["rcpt_tos"][0] for m in messages})
    return {
        "delivered": len(messages),
        "distinct_recipients": per_recipient,
        "rate": len(messages) / (last - first),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events for the throughput phase (2000)")
    parser.add_argument("--latency-events", type=int, default=300, help="events for the paced phase (300)")
    parser.add_argument("--rate", type=float, default=50, help="paced phase: events/s (50)")
    args = parser.parse_args(argv)
    admin_url = infra.ensure_postgres()
    bootstrap = admin_kafka(infra.ensure_kafka())
    db_url = bench_database(admin_url)
    migrate(["notifications"], Settings(database_url=db_url, **settings_fields(bootstrap)), topics=False)
    run_id = uuid.uuid4().hex[:8]
    spec = register(run_id)
    group = f"bench-{run_id}-"
    concurrency = NotificationSettings().send_concurrency
    sample = (
        "Thank you. Sandbox Family Practice received your payment of $25.00 on Mar 2, 2026.\n"
        "Receipt number: R-BENCH-000001\n\nTo see your account, sign in at https://portal.practice.example/sign-in\n"
    )

    async def run() -> tuple[float, dict[str, Any], dict[str, Any]]:
        await ensure_topics(bootstrap, [spec.topic])
        try:
            with sink_process() as (smtp_port, base_url):
                # The baseline before and after, averaged: the machine's load drifts.
                raw1 = await baseline(args.events, smtp_port, base_url, concurrency, sample)
                e2e = await end_to_end(args.events, spec, db_url, bootstrap, smtp_port, base_url, group)
                paced = await end_to_end(
                    args.latency_events, spec, db_url, bootstrap, smtp_port, base_url, group,
                    rate=args.rate, phase="paced",
                )  # fmt: skip
                raw2 = await baseline(args.events, smtp_port, base_url, concurrency, sample)
        finally:
            await delete_topics(bootstrap, [spec.topic], group + "notifications")
        return (raw1 + raw2) / 2, e2e, paced

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    raw, e2e, paced = asyncio.run(run())
    result = {
        "events": args.events,
        "send_concurrency": concurrency,
        "baseline_raw_aiosmtplib_per_s": raw,
        "end_to_end": e2e,
        "paced": {"rate": args.rate, "events": args.latency_events, **paced},
        "ratio_end_to_end_over_raw": e2e["rate"] / raw,
        "at": datetime.now(UTC).isoformat(),
    }
    RESULTS_FILE.parent.mkdir(exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(result, indent=2))
    print(f"events: {args.events}   send concurrency: {concurrency}")
    print(f"A  raw aiosmtplib → sink          {raw:10.0f} messages/s")
    print(
        f"B  event → Kafka → handler → worker → SMTP sink  {e2e['rate']:10.0f} notifications/s   "
        f"delivered {e2e['delivered']} to {e2e['distinct_recipients']} recipients"
    )
    print(
        f"   event → email latency  p50 {e2e['p50_ms']:.0f} ms  p90 {e2e['p90_ms']:.0f} ms  "
        f"p99 {e2e['p99_ms']:.0f} ms  max {e2e['max_ms']:.0f} ms"
    )
    print(
        f"C  paced at {args.rate:.0f} events/s ({args.latency_events} events): event → email latency  "
        f"p50 {paced['p50_ms']:.0f} ms  p90 {paced['p90_ms']:.0f} ms  p99 {paced['p99_ms']:.0f} ms  "
        f"max {paced['max_ms']:.0f} ms   delivered {paced['delivered']}"
    )
    print(f"B ÷ A = {result['ratio_end_to_end_over_raw']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
