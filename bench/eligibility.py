"""Eligibility benchmark: the service against the payer sandbox, next to direct calls.

`python -m bench.eligibility [--checks N] [--concurrency C] [--batch N]` starts, as separate
processes on ephemeral ports, the payer sandbox (HTTP only) and the eligibility service
(uvicorn, its own fresh database `<db>_bench_eligibility` on the DATABASE_URL server, the
shared Kafka). Then, in one run:

  A. baseline: the same X12 270s POSTed straight to the sandbox with httpx (what any client
     pays for the payer itself), at concurrency C;
  B. checks/s through POST /v1/eligibility/checks at concurrency C, the payer answering at
     once (distinct members, so no cache hits): 270 built, payer called, 271 parsed, check
     stored with encrypted raw X12 and its event in the outbox;
  C. latency the service adds on top of the payer's: the slow member (the sandbox holds each
     answer SANDBOX_SLOW_DELAY_MS, default 100 ms here) direct and through the service
     (Cache-Control: no-cache), sequential and at concurrency C; added = service - direct,
     per percentile;
  D. batch throughput: one batch of N checks (distinct members) from POST to complete.

It prints the figures and the ratios against A. It reports and never judges (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.common import admin_kafka, free_port, fresh_database
from bench.run import percentile
from services.eligibility.checks import x12 as edi
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import environment, settings_fields
from shared.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
NPI = "1234567893"


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def wait_up(url: str, proc: subprocess.Popen, what: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}; see its log")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, timeout=1)).status_code < 500:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def inquiry_270(member_id: str, n: int) -> str:
    return edi.build_270(
        edi.Inquiry(
            payer_id="SBX001",
            payer_name="Sandbox Health Plan",
            provider_npi=NPI,
            provider_name="BENCH CLINIC",
            member_id=member_id,
            first_name="BENCH",
            last_name="PATIENT",
            birth_date=date(1980, 1, 15),
            date_of_service=date.today(),
            service_type_codes=("30", "98"),
            trace_number=f"B{n}",
        ),
        sender_id="BENCH",
        control_number=n,
    )


def check_body(member_id: str) -> dict:
    return {
        "patient_id": f"bench-{member_id}",
        "patient": {"first_name": "Bench", "last_name": "Patient", "birth_date": "1980-01-15"},
        "member_id": member_id,
        "payer_id": "SBX001",
        "provider_npi": NPI,
        "service_type_codes": ["30", "98"],
    }


async def run_load(
    n: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """(requests/s, latencies in ms) for n calls at a fixed concurrency."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started), latencies


def pct(values: list[float], p: float) -> float:
    return percentile(sorted(values), p)


def members(prefix_base: int, n: int) -> list[str]:
    return [f"SBXG{(prefix_base + i) % 1_000_000:06d}" for i in range(n)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench(
    args: argparse.Namespace, sandbox_url: str, service_url: str, sandbox_pid: int, service_pid: int
) -> dict:
    token = mint_token(["eligibility:write", "eligibility:read"], subject="bench")
    auth = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(
        max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2
    )
    base = int(uuid.uuid4().int % 900_000)
    results: dict = {}
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        # warm-up (connections, code paths, first DB connections)
        for i, m in enumerate(members(base + 990_00, 20)):
            await client.post(f"{sandbox_url}/x12/270", content=inquiry_270(m, i))
            await client.post(f"{service_url}/v1/eligibility/checks", json=check_body(m), headers=auth)

        ids = members(base, args.checks)
        bodies = [inquiry_270(m, i) for i, m in enumerate(ids)]

        async def direct(i: int) -> None:
            r = await client.post(
                f"{sandbox_url}/x12/270", content=bodies[i], headers={"Content-Type": "application/edi-x12"}
            )
            assert r.status_code == 200

        cpu0 = cpu_seconds(sandbox_pid)
        rate_a, lat_a = await run_load(args.checks, args.concurrency, direct)
        results["A_direct"] = {
            "per_s": rate_a,
            "p50_ms": pct(lat_a, 50),
            "p99_ms": pct(lat_a, 99),
            "sandbox_cpu_ms": (cpu_seconds(sandbox_pid) - cpu0) / args.checks * 1000,
        }

        ids_b = members(base + 200_000, args.checks)

        async def through_service(i: int) -> None:
            r = await client.post(
                f"{service_url}/v1/eligibility/checks", json=check_body(ids_b[i]), headers=auth
            )
            assert r.status_code == 200 and r.json()["status"] == "active", r.text

        cpu0 = cpu_seconds(service_pid)
        rate_b, lat_b = await run_load(args.checks, args.concurrency, through_service)
        results["B_service"] = {
            "per_s": rate_b,
            "p50_ms": pct(lat_b, 50),
            "p99_ms": pct(lat_b, 99),
            "service_cpu_ms": (cpu_seconds(service_pid) - cpu0) / args.checks * 1000,
        }

        slow_270 = inquiry_270("SBX60001", 1)
        no_cache = {**auth, "Cache-Control": "no-cache"}

        async def slow_direct(_: int) -> None:
            assert (await client.post(f"{sandbox_url}/x12/270", content=slow_270)).status_code == 200

        async def slow_service(_: int) -> None:
            r = await client.post(
                f"{service_url}/v1/eligibility/checks", json=check_body("SBX60001"), headers=no_cache
            )
            assert r.status_code == 200, r.text

        for conc in (1, args.concurrency):
            n = args.latency_samples if conc == 1 else args.latency_samples * 2
            _, d = await run_load(n, conc, slow_direct)
            _, s = await run_load(n, conc, slow_service)
            results[f"C_added_c{conc}"] = {
                "direct_p50_ms": pct(d, 50),
                "direct_p99_ms": pct(d, 99),
                "service_p50_ms": pct(s, 50),
                "service_p99_ms": pct(s, 99),
                "added_p50_ms": pct(s, 50) - pct(d, 50),
                "added_p99_ms": pct(s, 99) - pct(d, 99),
                "added_mean_ms": statistics.fmean(s) - statistics.fmean(d),
            }

        ids_d = members(base + 400_000, args.batch)
        cpu0 = cpu_seconds(service_pid)
        started = time.perf_counter()
        created = await client.post(
            f"{service_url}/v1/eligibility/batches",
            json={"checks": [check_body(m) for m in ids_d]},
            headers=auth,
        )
        assert created.status_code == 202, created.text
        accepted_ms = (time.perf_counter() - started) * 1000
        location = created.headers["Location"]
        while True:
            batch = (await client.get(f"{service_url}{location}?results=false", headers=auth)).json()
            if batch["complete"]:
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
        results["D_batch"] = {
            "checks": args.batch,
            "per_s": args.batch / elapsed,
            "seconds": elapsed,
            "accepted_ms": accepted_ms,
            "done": batch["done"],
            "failed": batch["failed"],
            "service_cpu_ms": (cpu_seconds(service_pid) - cpu0) / args.batch * 1000,
        }
    return results


def report(results: dict, args: argparse.Namespace) -> None:
    a, b, d = results["A_direct"], results["B_service"], results["D_batch"]
    print(
        f"\nEligibility benchmark ({os.cpu_count()} CPUs, concurrency {args.concurrency}, "
        f"{args.checks} checks)"
    )
    print(
        f"  A  direct 270 -> sandbox          {a['per_s']:8.0f} req/s   p50 {a['p50_ms']:6.1f} ms  "
        f"p99 {a['p99_ms']:6.1f} ms"
    )
    print(
        f"  B  POST /v1/eligibility/checks     {b['per_s']:8.0f} checks/s p50 {b['p50_ms']:6.1f} ms  "
        f"p99 {b['p99_ms']:6.1f} ms   = {b['per_s'] / a['per_s']:.2f} x A"
    )
    print(
        f"     CPU per check: service {b['service_cpu_ms']:.1f} ms (batch {d['service_cpu_ms']:.1f} ms) vs "
        f"sandbox {a['sandbox_cpu_ms']:.1f} ms per 270 "
        f"= {b['service_cpu_ms'] / max(a['sandbox_cpu_ms'], 0.01):.1f} x"
    )
    for key, c in results.items():
        if key.startswith("C_added"):
            conc = key.rsplit("c", 1)[1]
            print(
                f"  C  added latency, concurrency {conc:>3}: direct p50/p99 {c['direct_p50_ms']:.1f}/"
                f"{c['direct_p99_ms']:.1f} ms, service {c['service_p50_ms']:.1f}/"
                f"{c['service_p99_ms']:.1f} ms "
                f"-> added p50 {c['added_p50_ms']:.1f} ms, p99 {c['added_p99_ms']:.1f} ms"
            )
    print(
        f"  D  batch of {d['checks']}: accepted in {d['accepted_ms']:.0f} ms, "
        f"complete in {d['seconds']:.1f} s "
        f"= {d['per_s']:.0f} checks/s = {d['per_s'] / a['per_s']:.2f} x A "
        f"(done {d['done']}, failed {d['failed']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--slow-ms", type=int, default=100)
    args = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "postgresql://revcycle:revcycle@127.0.0.1:55432/revcycle")
    kafka = admin_kafka(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    name = urlsplit(admin_url).path.lstrip("/") or "revcycle"
    db_url = asyncio.run(fresh_database(admin_url, f"{name}_bench_eligibility"))
    migrate(["eligibility"], Settings(database_url=db_url, **settings_fields(kafka)))

    sandbox_port, service_port = free_port(), free_port()
    sandbox_url, service_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{service_port}"
    fast = {
        "rate_limit_per_second": 100000,
        "rate_limit_burst": 1000,
        "cache_ttl_seconds": 900,
        "max_retries": 0,
        "timeout_seconds": 30,
        "attempt_timeout_seconds": 30,
    }
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    logs = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    sandbox_env = {
        "SANDBOX_MAILBOX": "0",  # 270s only: no SFTP mailbox beside `make up`'s
        "SANDBOX_SLOW_DELAY_MS": str(args.slow_ms),
    }
    service_env = {
        "DATABASE_URL": db_url,
        **environment(kafka),
        "CONSUMER_GROUP_PREFIX": f"bench-{uuid.uuid4().hex[:8]}-",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "20",
        "ELIGIBILITY_PAYERS_OVERRIDE": json.dumps(
            {p: {"endpoint": f"{sandbox_url}/x12/270", **fast} for p in ("SBX001", "SBX002", "SBX003")}
        ),
        "ELIGIBILITY_WORKER_CONCURRENCY": str(args.concurrency),
        "ELIGIBILITY_WORKER_CLAIM": "200",
    }
    with (
        process(
            [*uvicorn, "--port", str(sandbox_port), "deploy.payer_sandbox.main:app"],
            sandbox_env,
            logs / "bench-eligibility-sandbox.log",
        ) as sandbox,
        process(
            [*uvicorn, "--port", str(service_port), "services.eligibility.main:app"],
            service_env,
            logs / "bench-eligibility-service.log",
        ) as service,
    ):

        async def go() -> dict:
            await wait_up(f"{sandbox_url}/health", sandbox, "sandbox")
            await wait_up(f"{service_url}/health/live", service, "eligibility service")
            return await bench(args, sandbox_url, service_url, sandbox.pid, service.pid)

        results = asyncio.run(go())
    report(results, args)


if __name__ == "__main__":
    main()
