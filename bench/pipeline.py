"""The whole pipeline under load: encounter.completed → claim → 837P → the gateway's 837 file
in the payer sandbox's SFTP mailbox → its 277CA and 835 files → payment.posted → the patient's
notification, on the platform `make up` runs.

    python -m bench.pipeline [--rates 100,200,...,1000] [--stage-seconds 30] [--label before]
    make bench-pipeline BENCH_ARGS="--label after"

For each rate (encounters/s), the EHR partner publishes `rate x stage-seconds` encounters,
paced, each with its own correlation id (the platform carries it encounter → claim.submitted
→ the gateway's claim.acknowledged and remittance.received from the sandbox's files →
payment.posted → notification.sent). A watcher reads
payment.posted and notification.sent (no consumer group) and takes each record's Kafka
timestamp (set by the publishing relay) against the encounter's send time. A stage is kept
up with when every encounter of it reached payment.posted and its notification, the last at
most 10 s after the last encounter was sent (the gateway closes a batch after 2 s and polls
every 1 s, and the batched payer SBX003 remits every 3 s): then
the platform sustained the offered rate. The first stage that is not kept up ends the run; its
completion rate (claims ÷ first send to last notification) is the platform's capacity.

Meanwhile, once a second, each service's /metrics (consumer lag summed over partitions,
outbox backlog) is sampled; everything is plotted into bench/results/pipeline-<label>.png
and written to bench/results/pipeline-<label>.json.

In the same run, the raw ceilings of bench/run.py: aiokafka produce→consume of the same
encounter records, and asyncpg single-row transactions; the table prints the ratios.

Each encounter gets its own patient and a generated member id never used before in the run (the
sandbox adjudicates it like SBX10001; a reused member, day and code would be denied as a
duplicate, CO-18, and a denied claim sends the patient nothing), on a random recent visit day
of the run, without a secondary coverage: one claim per encounter. Patients are not in the
notifications directory, so their notification is the in-app one (no SMTP in the path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import run as backbone
from bench.common import admin_kafka
from deploy import infra
from deploy.payer_sandbox import ehr, practice
from shared import context
from shared.config import asyncpg_dsn
from shared.events.envelope import new_event
from shared.kafka import KafkaAccess, client_kwargs, started_producer

RESULTS = Path(__file__).resolve().parent / "results"
LAG = re.compile(r'^consumer_lag\{partition="\d+",service="(\w+)",topic="[^"]+"\} ([0-9.e+]+)$', re.M)
BACKLOG = re.compile(r'^outbox_backlog\{service="(\w+)"\} ([0-9.e+]+)$', re.M)
TARGET = 500  # claims/s end to end: the goal for this 2-core machine
# Seconds after the last send by which a stage must be complete: the mailbox's round trip
# (make up's partner, deploy/mailbox.py: a 2 s batch window, 1 s polls) and SBX003's 3 s cycle.
TAIL = 10.0


@dataclass
class Stage:
    rate: float
    encounters: int
    send_seconds: float = 0.0
    posted: int = 0
    notified: int = 0
    posted_per_second: float = 0.0
    notified_per_second: float = 0.0
    posted_p50_ms: float = 0.0
    posted_p99_ms: float = 0.0
    notified_p50_ms: float = 0.0
    notified_p99_ms: float = 0.0
    tail_seconds: float = 0.0
    kept_up: bool = False
    started_at: float = 0.0
    cpu_ms_per_claim: dict[str, float] = field(default_factory=dict)  # by process group
    completions: list[tuple[float, float]] = field(default_factory=list)  # (epoch, latency s)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Watcher:
    """When each encounter of ours reached payment.posted and the patient's notification."""

    def __init__(self, bootstrap: KafkaAccess) -> None:
        self.bootstrap = bootstrap
        self.sent_at: dict[str, float] = {}  # correlation id → epoch seconds of the send
        self.posted: dict[str, float] = {}  # correlation id → epoch of payment.posted
        self.notified: dict[str, float] = {}
        self._claim_cid: dict[str, str] = {}  # claim id → correlation id
        self._posting_cid: dict[str, str] = {}  # payment.posted event id → correlation id
        self._early_postings: dict[str, list[tuple[str, float]]] = {}  # claim id → (event id, at)
        self._early_notices: dict[str, float] = {}  # cause event id → at
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **client_kwargs(self.bootstrap), enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
        )
        await self._consumer.start()
        await self._consumer._client.force_metadata_update()  # partitions_for_topic is empty until then
        parts = [
            TopicPartition(t, p)
            for t in ("claim.submitted", "payment.posted", "notification.sent")
            for p in self._consumer.partitions_for_topic(t) or ()
        ]
        assert len(parts) >= 3, "the platform's topics are not there: is it up (make up)?"
        ends = await self._consumer.end_offsets(parts)
        self._consumer.assign(parts)
        for tp, offset in ends.items():
            self._consumer.seek(tp, offset)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for record in records:
                    with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                        self._see(record)  # else not an event of ours (shared topics; tests send garbage)

    def _see(self, r: Any) -> None:
        """Joins the chain by ids, not only by correlation: a payer's batched 835 answers many
        claims in one remittance, whose postings carry the remittance's correlation id.
        claim.submitted (encounter's correlation id) → claim id → payment.posted (its event
        id) → notification.sent (cause_event_id). The three topics are fetched independently,
        so a posting can be read before its claim.submitted and a notification before its
        posting: those wait in `_early_*` for the link."""
        headers = {k: v for k, v in r.headers or ()}
        at = r.timestamp / 1000
        if r.topic == "claim.submitted":
            cid = headers.get("ce_correlationid", b"").decode()
            if cid in self.sent_at:
                claim_id = r.key.decode()  # claim.submitted is keyed by claim id (its payload is large)
                self._claim_cid[claim_id] = cid
                for event_id, when in self._early_postings.pop(claim_id, []):
                    self._posted(cid, event_id, when)
        elif r.topic == "payment.posted":
            data = json.loads(r.value)
            claim_id = data.get("claim_id") or ""
            if data.get("claim_status_code") == "22" or not claim_id:
                return
            event_id = headers["ce_id"].decode()
            if claim_id in self._claim_cid:
                self._posted(self._claim_cid[claim_id], event_id, at)
            else:
                self._early_postings.setdefault(claim_id, []).append((event_id, at))
        else:
            data = json.loads(r.value)
            if not data.get("recipient_id", "").startswith("bp-"):
                return
            cause = data.get("cause_event_id") or ""
            if cause in self._posting_cid:
                self.notified.setdefault(self._posting_cid[cause], at)
            else:
                self._early_notices[cause] = at

    def _posted(self, cid: str, event_id: str, at: float) -> None:
        self.posted.setdefault(cid, at)
        self._posting_cid[event_id] = cid
        if event_id in self._early_notices:
            self.notified.setdefault(cid, self._early_notices.pop(event_id))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer:
            await self._consumer.stop()


class Sampler:
    """Consumer lag and outbox backlog per service, once a second, from /metrics."""

    def __init__(self) -> None:
        self.samples: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                sample: dict[str, Any] = {"t": time.time(), "lag": {}, "backlog": {}}
                for name, port in infra.SERVICES.items():
                    with contextlib.suppress(httpx.HTTPError):
                        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                        sample["lag"][name] = sum(float(v) for s, v in LAG.findall(text) if s == name)
                        sample["backlog"][name] = sum(float(v) for s, v in BACKLOG.findall(text) if s == name)
                self.samples.append(sample)
                await asyncio.sleep(1)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class CpuMeter:
    """CPU seconds used by each part of the platform, from /proc (Linux): the five services, the
    payer sandbox, Kafka and the mail sink by the pids supervisord gives (supervisorctl), PostgreSQL's
    server processes split by the role each backend serves, and this benchmark itself.

    Divided by the claims of a stage it says where the machine's time per claim goes, which
    is what bounds claims/s on a CPU-bound box (two cores give 2,000 ms of CPU a second)."""

    def available(self) -> bool:
        return Path("/proc/self/stat").exists()

    @staticmethod
    def _seconds(pid: int) -> float:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def snapshot(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if not self.available():
            return out
        for name, pid in infra.process_pids().items():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out[name.replace("payer-sandbox", "sandbox")] = self._seconds(pid)
        database = urlsplit(infra.database_url()).path.lstrip("/")
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((infra.PG_DATA / "postmaster.pid").read_text().split()[0])
            for pid in [postmaster, *self._children(postmaster)]:
                with contextlib.suppress(OSError):
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
                    # A backend reads "postgres: <role> <database> <host>(port) ..."; backends of
                    # other databases on this server (test runs) are not the platform's.
                    backend = len(cmd) > 3 and "(" in cmd[3]
                    if backend and cmd[2] != database:
                        continue
                    key = f"postgres:{cmd[1].removesuffix('_svc') if backend else 'server'}"
                    out[key] = out.get(key, 0.0) + self._seconds(pid)
        out["benchmark"] = time.process_time()
        return out

    @staticmethod
    def _children(pid: int) -> list[int]:
        found = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
        return found

    @staticmethod
    def per_claim(before: dict[str, float], after: dict[str, float], claims: int) -> dict[str, float]:
        """ms of CPU per claim by group; groups that did not exist before count from zero."""
        if not claims:
            return {}
        used = {k: (v - before.get(k, 0.0)) * 1000 / claims for k, v in after.items()}
        return dict(sorted(((k, round(v, 3)) for k, v in used.items() if v > 0.0005), key=lambda kv: -kv[1]))


@dataclass
class Members:
    """Member ids and a visit day for one run. Each encounter of the run gets a member id of its
    own (consecutive from a random start), and the run's visits share a random recent day: the
    sandbox denies a second claim for the same member, day and code as a duplicate (CO-18),
    and its memory outlives a run, so reusing members would turn some claims into denials."""

    next: int = field(default_factory=lambda: random.randrange(1_000_000))
    day: date = field(default_factory=lambda: date.today() - timedelta(days=random.randint(1, 90)))

    def take(self) -> str:
        member, self.next = f"SBXG{self.next % 1_000_000:06d}", self.next + 1
        return member


def build(
    stage_no: int, count: int, run_id: str, members: Members
) -> list[tuple[str, tuple[str, bytes, bytes, list]]]:
    """Encounters of one stage, encoded ahead of the clock and signed with the EHR's key (the
    platform's under .state): (correlation id, record)."""
    out = []
    sign = ehr.partner_signer().encode
    encounters = ehr.encounters(stage_no, count, run_id=f"{run_id}s{stage_no}", day=members.day)
    for i, enc in enumerate(encounters):
        member = members.take()
        primary = enc.coverages[0].model_copy(update={"member_id": member})
        # As a coder would: an E/M visit billed with other services carries modifier 25, so no
        # claim stops at the scrubber's NCCI edit (the generator adds it only beyond two codes).
        lines = [
            line.model_copy(update={"modifiers": ["25"]})
            if line.code.startswith("992") and len(enc.lines) > 1 and not line.modifiers
            else line
            for line in enc.lines
        ]
        enc = enc.model_copy(
            update={
                "patient_id": f"bp-{run_id}-{stage_no}-{i}",
                "coverages": [primary],
                "payer_id": primary.payer_id,
                "lines": lines,
            }
        )
        cid = str(uuid.uuid4())
        context.start(correlation_id=cid)
        out.append((cid, sign(new_event(enc, source=ehr.SOURCE))))
    context.reset()
    return out


async def run_stage(
    stage_no: int,
    rate: float,
    seconds: float,
    run_id: str,
    watcher: Watcher,
    bootstrap: KafkaAccess,
    drain: float,
    members: Members,
) -> Stage:
    count = max(1, int(rate * seconds))
    stage = Stage(rate=rate, encounters=count)
    records = build(stage_no, count, run_id, members)
    meter = CpuMeter()
    cpu_before = meter.snapshot()
    producer = await started_producer(bootstrap, client_id="bench-pipeline-ehr")
    try:
        start = time.perf_counter()
        stage.started_at = time.time()
        pending = []
        for i, (cid, (topic, key, value, headers)) in enumerate(records):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            watcher.sent_at[cid] = time.time()
            pending.append(await producer.send(topic, value, key=key, headers=headers))
        await producer.flush()
        await asyncio.gather(*pending)
        stage.send_seconds = time.perf_counter() - start
    finally:
        await producer.stop()
    ids = [cid for cid, _ in records]
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline:
        if all(c in watcher.notified and c in watcher.posted for c in ids):
            break
        await asyncio.sleep(0.25)
    stage.cpu_ms_per_claim = meter.per_claim(cpu_before, meter.snapshot(), count)
    posted = [watcher.posted[c] - watcher.sent_at[c] for c in ids if c in watcher.posted]
    notified = [watcher.notified[c] - watcher.sent_at[c] for c in ids if c in watcher.notified]
    first = min(watcher.sent_at[c] for c in ids)
    stage.posted, stage.notified = len(posted), len(notified)
    if posted:
        stage.posted_per_second = len(posted) / (
            max(watcher.posted[c] for c in ids if c in watcher.posted) - first
        )
        stage.posted_p50_ms, stage.posted_p99_ms = (1000 * percentile(posted, q) for q in (0.5, 0.99))
    if notified:
        last = max(watcher.notified[c] for c in ids if c in watcher.notified)
        stage.notified_per_second = len(notified) / (last - first)
        stage.notified_p50_ms, stage.notified_p99_ms = (1000 * percentile(notified, q) for q in (0.5, 0.99))
    stage.completions = sorted(
        (watcher.notified[c], watcher.notified[c] - watcher.sent_at[c]) for c in ids if c in watcher.notified
    )
    # Kept up: every claim of the stage reached its notification, and the last one came at
    # most TAIL seconds after the last encounter was sent (room for the batched payer's 835
    # cycle), so nothing was left queueing when the offered load stopped.
    end_of_sending = stage.started_at + stage.send_seconds
    stage.tail_seconds = (
        (max(watcher.notified.get(c, float("inf")) for c in ids) - end_of_sending) if ids else 0
    )
    stage.kept_up = stage.notified == count and stage.tail_seconds <= TAIL
    missing = [i for i, c in enumerate(ids) if c not in watcher.notified]
    if missing:
        print(f"  not notified within the drain window: patients bp-{run_id}-{stage_no}-{missing[:5]}")
    return stage


async def ceilings(
    bootstrap: KafkaAccess, sample: list[tuple[str, bytes, bytes, list]], run_id: str
) -> dict[str, Any]:
    """bench/run.py's raw baselines, in a schema and topic of this run."""
    backbone.SCHEMA = f"bench_pipeline_{run_id}"
    admin_dsn = asyncpg_dsn(infra.database_url())
    await backbone.create_schema(admin_dsn)
    try:
        pg = await backbone.baseline_postgres(admin_dsn, seconds=3, concurrency=4)
    finally:
        await backbone.drop_schema(admin_dsn)
    topic = f"bench.pipeline.raw.{run_id}"
    try:
        kafka = await backbone.baseline_kafka(bootstrap, topic, [(k, v, h) for _, k, v, h in sample])
    finally:
        await backbone.delete_topics(bootstrap, [topic], None)
    return {"postgres_tx_per_second": pg.tx_per_second, "kafka_msgs_per_second": kafka.msgs_per_second}


def plot(stages: list[Stage], samples: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min([s.started_at for s in stages] + [samples[0]["t"] if samples else time.time()])
    fig, axes = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    ax = axes[0]
    for s in stages:
        done = [c[0] - t0 for c in s.completions]
        if done:
            ax.hist(done, bins=max(1, int(done[-1] - done[0]) + 1), alpha=0.6, label=f"{s.rate:g}/s offered")
        ax.axvline(s.started_at - t0, color="grey", lw=0.5)
    ax.set_ylabel("patients notified per second")
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax = axes[1]
    for s in stages:
        if s.completions:
            ax.plot([c[0] - t0 for c in s.completions], [1000 * c[1] for c in s.completions], ".", ms=2)
    ax.set_yscale("log")
    ax.set_ylabel("encounter → notification (ms)")
    ax = axes[2]
    for name in infra.SERVICES:
        xs = [x["t"] - t0 for x in samples if name in x["lag"]]
        ax.plot(xs, [x["lag"][name] for x in samples if name in x["lag"]], label=f"{name} consumer lag")
        ax.plot(
            xs,
            [x["backlog"][name] for x in samples if name in x["backlog"]],
            "--",
            label=f"{name} outbox backlog",
        )
    ax.set_ylabel("records")
    ax.set_xlabel("seconds since the first stage")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def table(stages: list[Stage], raw: dict[str, Any]) -> str:
    lines = [
        f"{'offered/s':>9} {'sent':>6} {'posted':>7} {'posted/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'notified':>8} {'notif/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'tail s':>7}  kept up",
    ]
    for s in stages:
        lines.append(
            f"{s.rate:>9g} {s.encounters:>6} {s.posted:>7} {s.posted_per_second:>9.1f}"
            f" {s.posted_p50_ms:>8.0f} {s.posted_p99_ms:>8.0f} {s.notified:>8} {s.notified_per_second:>8.1f}"
            f" {s.notified_p50_ms:>8.0f} {s.notified_p99_ms:>8.0f} {s.tail_seconds:>7.1f}"
            f"  {'yes' if s.kept_up else 'NO'}"
        )
    kept = [s for s in stages if s.kept_up]
    sustained = max((s.rate for s in kept), default=0.0)
    peak = max((s.notified_per_second for s in stages), default=0.0)
    best = max(kept, key=lambda s: s.rate) if kept else None
    lines.append("")
    lines.append(
        f"sustained (highest offered rate kept up): {sustained:g} claims/s end to end (target {TARGET})"
    )
    if best:
        lines.append(
            f"  at that stage: encounter → payment.posted p50 {best.posted_p50_ms:.0f} ms,"
            f" p99 {best.posted_p99_ms:.0f} ms; → notification p50 {best.notified_p50_ms:.0f} ms,"
            f" p99 {best.notified_p99_ms:.0f} ms"
        )
    lines.append(f"peak completion rate in any stage (first send to last notification): {peak:.1f} claims/s")
    kafka, pg = raw.get("kafka_msgs_per_second"), raw.get("postgres_tx_per_second")
    if kafka:
        lines.append(f"raw aiokafka produce→consume: {kafka:,.0f} msg/s  → ratio {sustained / kafka:.4f}")
    if pg:
        lines.append(f"raw asyncpg single-row tx:    {pg:,.0f} tx/s   → ratio {sustained / pg:.4f}")
    if any(s.cpu_ms_per_claim for s in stages):
        cores = os.cpu_count() or 1
        lines.append("")
        lines.append(
            f"CPU per claim, ms, by process (from /proc; {cores} cores = {cores * 1000} ms of CPU a second):"
        )
        for s in stages:
            total = sum(s.cpu_ms_per_claim.values())
            parts = ", ".join(f"{k} {v:.2f}" for k, v in s.cpu_ms_per_claim.items() if v >= 0.01)
            ceiling = cores * 1000 / total if total else 0
            lines.append(
                f"  {s.rate:g}/s: total {total:.2f} (CPU-bound ceiling {ceiling:.0f} claims/s): {parts}"
            )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    bootstrap = admin_kafka(args.bootstrap)
    run_id = uuid.uuid4().hex[:6]
    rates = [float(r) for r in args.rates.split(",")]
    watcher, sampler = Watcher(bootstrap), Sampler()
    await watcher.start()
    sampler.start()
    stages: list[Stage] = []
    members = Members()
    await practice.register(subject="bench-pipeline")  # the EHR's encounters name providers by NPI only
    try:
        for n, rate in enumerate(rates, start=1):
            print(f"stage {n}: {rate:g} encounters/s for {args.stage_seconds:g} s ...", flush=True)
            stage = await run_stage(
                n, rate, args.stage_seconds, run_id, watcher, bootstrap, args.drain, members
            )
            stages.append(stage)
            print(
                f"  posted {stage.posted}/{stage.encounters} ({stage.posted_per_second:.1f}/s), notified "
                f"{stage.notified} ({stage.notified_per_second:.1f}/s), notified p50/p99 "
                f"{stage.notified_p50_ms:.0f}/{stage.notified_p99_ms:.0f} ms, kept up: {stage.kept_up}",
                flush=True,
            )
            if not stage.kept_up:
                break
            await asyncio.sleep(2)  # let lag gauges settle between stages
    finally:
        await sampler.stop()
        await watcher.stop()
    raw: dict[str, Any] = {}
    if not args.skip_baselines:
        sample = [rec for _, rec in build(0, 5000, run_id + "raw", Members())]
        raw = await ceilings(bootstrap, sample, run_id)
    report = table(stages, raw)
    print()
    print(report)
    label = args.label
    png = RESULTS / f"pipeline-{label}.png"
    plot(
        stages,
        sampler.samples,
        png,
        f"revcycle pipeline ({label}): encounter → payment.posted → notification",
    )
    out = {
        "label": label,
        "cpus": os.cpu_count(),
        "stage_seconds": args.stage_seconds,
        "stages": [{k: v for k, v in asdict(s).items() if k != "completions"} for s in stages],
        "raw": raw,
        "samples": sampler.samples,
        "report": report,
    }
    (RESULTS / f"pipeline-{label}.json").write_text(json.dumps(out, indent=1))
    print(f"\nchart: {png.relative_to(RESULTS.parent.parent)}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates", default="100,200,300,400,500,600,700,800,900,1000", help="encounters/s per stage, rising"
    )
    parser.add_argument(
        "--stage-seconds",
        type=float,
        default=30,
        help="long enough that queues cannot hide a shortfall: a 10 s tail absorbs a bounded share",
    )
    parser.add_argument("--drain", type=float, default=30, help="seconds to wait for a stage to complete")
    parser.add_argument("--label", default="latest", help="names the PNG/JSON in bench/results/")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    return asyncio.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(cli())
