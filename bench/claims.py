"""Claims benchmark: claims/s created, scrubbed and turned into 837P, and the p99 of
`POST /v1/claims` at a steady load, each next to a baseline measured in the same run.

    .venv/bin/python -m bench.claims [--claims 400] [--concurrency 8] [--rate 40] [--seconds 15]

  A. in process: validate (strict) → scrub → write the 837P, claims/s on one core;
     baseline A0: pydantic validation of the same body alone (the floor any API pays).
  B. over HTTP, real uvicorn + PostgreSQL: POST /v1/claims → POST /scrub → GET /837?preview,
     claims/s at a fixed concurrency; baseline B0: GET /health/live at the same concurrency.
  C. steady load: POST /v1/claims sent open-loop at a fixed rate (not waiting for answers),
     latency percentiles; baseline C0: GET /health/live on the same schedule.

The claims app runs on its own fresh database (`<db>_bench_claims`), with no event handlers
and no workers (so nothing else competes), on an ephemeral loopback port. It reports and
never judges; results also go to bench/results/claims.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.common import admin_kafka, fresh_database
from deploy.serving import serving
from services.claims.claims.domain import strict_errors
from services.claims.claims.schemas import ClaimData
from services.claims.codesets.usecases import shipped_code_data
from services.claims.scrubbing import domain as scrubber
from services.claims.service import SERVICE
from services.claims.settings import get_claims_settings
from services.claims.submission.x12 import generate
from shared.app import create_app
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import settings_fields
from shared.migrate import migrate
from tests.claims.helpers import make_claim

RESULTS = Path(__file__).resolve().parent / "results" / "claims.json"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_pipeline_in_process(n: int) -> dict[str, float]:
    bodies = [make_claim() for _ in range(n)]
    settings = get_claims_settings()
    ctx = scrubber.ScrubContext(today=date.today(), codes=shipped_code_data())
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        data = ClaimData.model_validate(body)
        assert not strict_errors(data)
        scrubber.scrub(data, ctx)
        generate(data, f"C{i:016d}", control_number=i + 1, settings=settings)
    pipeline = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for body in bodies:
        ClaimData.model_validate(body)
    baseline = n / (time.perf_counter() - start)
    return {"claims_per_s": pipeline, "baseline_validate_per_s": baseline, "ratio": pipeline / baseline}


async def closed_loop(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """n operations on `concurrency` workers; operations per second."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await one(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def open_loop(rate: float, seconds: float, one: Callable[[], Awaitable[None]]) -> list[float]:
    """Send at a fixed rate whatever the answers do; latencies in ms (bounded count and time)."""
    latencies: list[float] = []

    async def timed() -> None:
        t0 = time.perf_counter()
        await one()
        latencies.append((time.perf_counter() - t0) * 1000)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed()))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 60)
    return latencies


async def bench_http(base: str, args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {mint_token(None, subject='bench')}"}
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:

        async def pipeline(_: int) -> None:
            created = await client.post("/v1/claims", json=make_claim())
            created.raise_for_status()
            claim_id = created.json()["id"]
            (await client.post(f"/v1/claims/{claim_id}/scrub")).raise_for_status()
            edi = await client.get(f"/v1/claims/{claim_id}/837", params={"preview": True})
            edi.raise_for_status()
            assert edi.text.startswith("ISA")

        async def live(_: int = 0) -> None:
            (await client.get("/health/live")).raise_for_status()

        await closed_loop(20, args.concurrency, pipeline)  # warm-up: pools, caches, code sets
        http_rate = await closed_loop(args.claims, args.concurrency, pipeline)
        live_rate = await closed_loop(args.claims * 3, args.concurrency, live)

        async def post_claim() -> None:
            (await client.post("/v1/claims", json=make_claim())).raise_for_status()

        post_ms = await open_loop(args.rate, args.seconds, post_claim)
        live_ms = await open_loop(args.rate, args.seconds, live)
    return {
        "http_claims_per_s": http_rate,
        "baseline_live_per_s": live_rate,
        "http_ratio": http_rate / live_rate,
        "post_p50_ms": statistics.median(post_ms),
        "post_p95_ms": pct(post_ms, 95),
        "post_p99_ms": pct(post_ms, 99),
        "live_p99_ms": pct(live_ms, 99),
        "p99_ratio": pct(post_ms, 99) / pct(live_ms, 99),
        "requests_at_rate": len(post_ms),
    }


async def run_http(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    app = create_app(replace(SERVICE, handlers={}, workers=[]), settings)
    async with serving(app) as base:
        return await bench_http(base, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=400, help="claims through the HTTP pipeline (B)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=40.0, help="POST /v1/claims per second (C)")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of the steady load (C)")
    parser.add_argument(
        "--in-process", type=int, default=2000, help="claims through the pipeline in process (A)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    admin = os.environ.get("DATABASE_URL", Settings().database_url)
    kafka = admin_kafka(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", Settings().kafka_bootstrap_servers))
    name = (urlsplit(admin).path.lstrip("/") or "postgres") + "_bench_claims"
    url = asyncio.run(fresh_database(admin, name))
    settings = Settings(
        database_url=url,
        **settings_fields(kafka),
        log_level="WARNING",
        consumer_group_prefix=f"bench-{uuid.uuid4().hex[:8]}-",
    )
    migrate(["claims"], settings, topics=False)

    a = bench_pipeline_in_process(args.in_process)
    b = asyncio.run(run_http(settings, args))
    result = {"in_process": a, "http": b, "args": vars(args), "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(
        f"A  in process: {a['claims_per_s']:8.1f} claims/s validated+scrubbed+837P   "
        f"(baseline validation only {a['baseline_validate_per_s']:8.1f}/s, ratio {a['ratio']:.3f})"
    )
    print(
        f"B  over HTTP:  {b['http_claims_per_s']:8.1f} claims/s POST+scrub+837 "
        f"(concurrency {args.concurrency})  "
        f"(baseline GET /health/live {b['baseline_live_per_s']:8.1f}/s, ratio {b['http_ratio']:.3f})"
    )
    print(
        f"C  POST /v1/claims at {args.rate:g}/s for {args.seconds:g}s ({b['requests_at_rate']} requests): "
        f"p50 {b['post_p50_ms']:.1f} ms, p95 {b['post_p95_ms']:.1f} ms, p99 {b['post_p99_ms']:.1f} ms  "
        f"(baseline GET /health/live p99 {b['live_p99_ms']:.1f} ms, ratio {b['p99_ratio']:.1f})"
    )


if __name__ == "__main__":
    main()
