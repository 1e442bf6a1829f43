"""`make chaos`: faults against the running platform, one table row per fault.

    python -m bench.chaos [--count 2000] [--rate 100] [--faults none,kill-claims,...] [--timeout 240]

For each fault, on the platform `make up` runs (its own PostgreSQL, Kafka and supervisord, never
servers other people use: see the guard below):

1. the day's patients are registered with notifications (an email address and a phone each, so
   the mail and SMS sink shows what they were told), ids namespaced by a run id per fault;
2. the sandbox EHR publishes `--count` encounters at `--rate`/s (`encounter.completed`);
3. at t = `--fault-at` s after the first encounter the fault is injected (FAULTS below) and
   repaired after its outage;
4. the harness waits until the platform has converged: every encounter has a claim, no claim
   waits on the payer, neither end of the mailbox (gateway, sandbox) has anything pending or
   unsent, every service's outbox is empty, no delivery is pending and every consumer group's
   lag is 0. It gives up after `--timeout` s, or once the platform has been idle for
   `--settle` s without converging;
5. it reads, read-only, what the platform recorded (bench/chaos_snapshot.py) and counts
   (bench/chaos_counts.py): duplicates, lost, double postings, double notifications, dead letters,
   time to converge, manual action.

The table goes to stdout and to bench/results/chaos-<date>.md (with a JSON twin).

The guard: this harness kills PostgreSQL and Kafka. It refuses to run unless both are the
private ones `make up` started from this checkout (not DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
servers) and it runs in a network namespace of its own (`ip netns`, bench/README.md), unless
CHAOS_ALLOW_HOST_NETWORK=1 says the machine is yours alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import chaos_counts, chaos_snapshot
from deploy import broker, pg_cluster, postgres, processes, supervision
from deploy.payer_sandbox import ehr
from shared.auth import mint_token

RESULTS = Path(__file__).resolve().parent / "results"
SCOPES = ["notifications:read", "notifications:write", "ops:read"]
AUTH = {"Authorization": f"Bearer {mint_token(SCOPES, subject='chaos-harness')}"}
SERVICES = list(processes.SERVICES)
SANDBOX = "payer-sandbox"


# --------------------------------------------------------------------------------------
# Faults: inject (at t = fault-at) and repair (after the outage); blocking, run in a thread
# --------------------------------------------------------------------------------------


def _full_name(program: str) -> str:
    found = supervision.state(program)
    if found is None:
        raise RuntimeError(f"supervisord does not run {program}")
    return found.name


def kill9(program: str) -> None:
    """SIGKILL the program's process, then hold supervisord's automatic restart back (stop), so
    it stays down until repaired; supervisord may have respawned it for a moment: that new
    process gets SIGTERM before it has started serving."""
    found = supervision.state(program)
    if found is None or found.pid is None:
        raise RuntimeError(f"{program} is not running")
    os.kill(found.pid, signal.SIGKILL)
    supervision.ctl("stop", found.name, check=False)


def restart(program: str) -> None:
    failed = supervision.start([_full_name(program)])
    if failed:
        raise RuntimeError(f"{program} did not start again: {failed}")


def pg_stop() -> None:
    """PostgreSQL stops at once, as on a crash: `pg_ctl stop -m immediate` (no checkpoint)."""
    pg_ctl = str(pg_cluster.server_bindir(install=False) / "pg_ctl")
    pg_cluster.pg_run([pg_ctl, "stop", "-D", str(pg_cluster.PG_DATA), "-m", "immediate", "-w", "-s"])


def kafka_kill() -> None:
    kill9(broker.PROGRAM)


def kafka_start() -> None:
    broker.start_local()


def _program_fault(names: list[str], down: float) -> tuple[Callable[[], None], Callable[[], None], float]:
    return (lambda: [kill9(n) for n in names], lambda: [restart(n) for n in names], down)


def faults(
    args: argparse.Namespace,
) -> dict[str, tuple[Callable[[], None], Callable[[], None], float] | None]:
    """name -> (inject, repair, seconds down); None for the baseline."""
    table: dict[str, tuple[Callable[[], None], Callable[[], None], float] | None] = {"none": None}
    for name in [*SERVICES, SANDBOX]:
        table[f"kill -9 {name}"] = _program_fault([name], args.down)
    table["Kafka down"] = (kafka_kill, kafka_start, args.kafka_down)
    table["PostgreSQL down"] = (pg_stop, postgres.ensure_postgres, args.pg_down)
    table["two instances, one killed"] = _program_fault(SERVICES, args.down)
    return table


# --------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------


async def wait_ready(http: httpx.AsyncClient, procs: list[processes.Proc], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        while True:
            try:
                if (await http.get(processes.url(p, p.health), timeout=3)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{p.name} is not ready at {processes.url(p, p.health)}")
            await asyncio.sleep(1)


async def register(http: httpx.AsyncClient, run_id: str, patients: int) -> None:
    """Each patient with an email and a phone (the sink shows both), and one billing staff member
    who hears about denials and rejections."""
    base = next(processes.url(p) for p in processes.PROCESSES if p.name == "notifications")
    staff = {"kind": "staff", "email": "chaos.billing@practice.example", "roles": ["billing", "manager"]}
    (await http.put(f"{base}/v1/recipients/chaos-billing", json=staff, headers=AUTH)).raise_for_status()
    limit = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        pid = f"pat-{run_id}-{i:06d}"
        body = {
            "kind": "patient",
            "email": f"{pid}@chaos.example",
            "phone": f"+1555{i:07d}",
            "timezone": "UTC",
        }
        async with limit:
            (await http.put(f"{base}/v1/recipients/{pid}", json=body, headers=AUTH)).raise_for_status()

    await asyncio.gather(*(one(i) for i in range(patients)))


async def inject(
    fault: tuple[Callable[[], None], Callable[[], None], float] | None,
    t0: float,
    at: float,
    log: Callable[[str], None],
) -> float:
    """Waits until t0 + at, injects, waits out the outage, repairs; returns when the repair was done."""
    if fault is None:
        return time.monotonic()
    do, undo, down = fault
    await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
    log(f"inject at t = {time.monotonic() - t0:.1f} s")
    await asyncio.to_thread(do)
    await asyncio.sleep(down)
    await asyncio.to_thread(undo)
    log(f"repaired at t = {time.monotonic() - t0:.1f} s")
    return time.monotonic()


async def converge(
    probe: chaos_snapshot.Probe, run_id: str, sent: int, args: argparse.Namespace, log: Callable[[str], None]
) -> tuple[bool, float]:
    """Poll until converged (True, when) or given up (False, when)."""
    started = time.monotonic()
    idle_since: float | None = None
    last = ""
    while time.monotonic() - started < args.timeout:
        state = await probe.progress(run_id, sent)
        if state.converged:
            return True, time.monotonic()
        idle_since = (idle_since or time.monotonic()) if state.idle else None
        if idle_since is not None and time.monotonic() - idle_since > args.settle:
            log(f"idle for {args.settle:g} s without converging: {state.summary()}")
            return False, time.monotonic()
        if state.summary() != last:
            last = state.summary()
            log(last)
        await asyncio.sleep(2)
    log(f"not converged after {args.timeout:g} s: {last}")
    return False, time.monotonic()


async def one_fault(
    name: str, fault: tuple[Callable[[], None], Callable[[], None], float] | None, args: argparse.Namespace
) -> chaos_counts.Row:
    run_id = f"x{uuid.uuid4().hex[:6]}"

    def log(msg: str) -> None:
        print(f"chaos [{name}] {msg}", file=sys.stderr, flush=True)

    replicas = processes.replicas() if name.startswith("two instances") else []
    async with httpx.AsyncClient(timeout=30) as http, chaos_snapshot.Probe(http) as probe:
        if replicas:
            log("starting the second instances")
            await asyncio.to_thread(processes.replicas_up)
        await wait_ready(http, [*processes.PROCESSES, *replicas])
        patients = max(1, args.count // 2)
        await register(http, run_id, patients)
        dlq_before = await probe.dead_letter_total()
        row_started = datetime.now(UTC)
        log(f"run {run_id}: {args.count} encounters at {args.rate:g}/s")
        t0 = time.monotonic()
        faulted = asyncio.create_task(inject(fault, t0, args.fault_at, log))
        await ehr.publish(
            ehr.ehr_access(),
            args.count,
            rate=args.rate,
            seed=args.seed,
            patients=patients,
            run_id=run_id,
            institutional_share=args.institutional_share,
        )
        sent_at = time.monotonic()
        repaired_at = await faulted
        converged, done_at = await converge(probe, run_id, args.count, args, log)
        snap = await probe.snapshot(run_id, args.count, row_started)
        snap.dead_letters = max(0, (await probe.dead_letter_total()) - dlq_before)
        snap.converged = converged
        snap.converge_seconds = done_at - max(sent_at, repaired_at)
        if replicas:
            await asyncio.to_thread(processes.replicas_down)
    row = chaos_counts.count(name, snap)
    log(chaos_counts.markdown([row]).splitlines()[-1])
    return row


def write_results(rows: list[chaos_counts.Row], args: argparse.Namespace) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    path = RESULTS / f"chaos-{stamp}.md"
    head = (
        f"# make chaos, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"{args.count} encounters at {args.rate:g}/s per fault ({args.institutional_share:.0%} hospital "
        f"encounters billed as 837I), injected at t = {args.fault_at:g} s; "
        f"a killed process restarted {args.down:g} s later, Kafka down {args.kafka_down:g} s, "
        f"PostgreSQL down {args.pg_down:g} s. Method: bench/README.md.\n\n"
    )
    path.write_text(head + chaos_counts.markdown(rows) + "\n")
    path.with_suffix(".json").write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return path


def guard() -> None:
    """Refuse to break servers that are not this checkout's own (see the module docstring)."""
    if not (postgres.postgres_is_local() and broker.kafka_is_local() and supervision.running()):
        raise SystemExit("chaos: PostgreSQL, Kafka and supervisord must be this checkout's own (make up)")
    # A network namespace of its own has nothing but loopback (ip netns add / unshare --net).
    interfaces = {name for _, name in socket.if_nameindex()}
    if interfaces - {"lo"} and os.environ.get("CHAOS_ALLOW_HOST_NETWORK") != "1":
        raise SystemExit(
            "chaos: refusing to kill PostgreSQL and Kafka in the host's network namespace, where other "
            "people's servers may listen on the same ports. Run it in a namespace of its own "
            "(bench/README.md), or set CHAOS_ALLOW_HOST_NETWORK=1 on a machine that is yours alone."
        )


async def main(args: argparse.Namespace) -> int:
    guard()
    # The Kafka clients' reconnect chatter during an outage is expected; the EHR's own warnings stay.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    table = faults(args)
    chosen = [f.strip() for f in args.faults.split(",")] if args.faults else list(table)
    unknown = [f for f in chosen if f not in table]
    if unknown:
        raise SystemExit(f"chaos: unknown faults {unknown}; known: {', '.join(table)}")
    rows = []
    for name in chosen:
        rows.append(await one_fault(name, table[name], args))
    print(chaos_counts.markdown(rows))
    path = write_results(rows, args)
    print(f"\nwritten to {path.relative_to(RESULTS.parent.parent)}", file=sys.stderr)
    return 0 if all(r.ok for r in rows) else 1


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="encounters per fault (default 2000)")
    parser.add_argument("--rate", type=float, default=100, help="encounters per second (default 100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--institutional-share",
        type=float,
        default=0.15,
        help="share of hospital encounters billed as 837I, as make demo (default 0.15)",
    )
    parser.add_argument(
        "--faults", default="", help="comma-separated subset of the fault names (default all)"
    )
    parser.add_argument("--fault-at", type=float, default=8, help="seconds after the first encounter (8)")
    parser.add_argument("--down", type=float, default=10, help="seconds a killed process stays down (10)")
    parser.add_argument("--kafka-down", type=float, default=15, help="seconds Kafka stays down (15)")
    parser.add_argument("--pg-down", type=float, default=30, help="seconds PostgreSQL stays down (30)")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for convergence (240)")
    parser.add_argument("--settle", type=float, default=30, help="idle seconds that end the wait (30)")
    return asyncio.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(cli())
