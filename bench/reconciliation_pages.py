"""The reconciliation report's size at history scale (issue 16, item 9): bytes and time of one
answer before (every match and discrepancy of the range in it) and after (totals and a first
page of each section, then the sections paged by cursor), on the same data in one run.

    .venv/bin/python -m bench.reconciliation_pages [--deposits 10000] [--before-ref REF] [--keep]

1. A database of its own (`<db>_bench_recon`, recreated), payments migrated to head, and one
   payer's day of --deposits EFT payments through the service's own routes: one 835 file with a
   transaction set (TRN) per payment, then one BAI2 bank file with a deposit per trace (one in
   ten a cent short: a discrepancy), which the import matches by the CORE reassociation trace.
2. Before: the payments service of --before-ref (default: where this branch left main), from a
   `git archive`, served by uvicorn without consumers or workers: GET /v1/reports/reconciliation
   for the day. After: this tree's service, the same report, then /matched walked page by page
   (50, the default, and 500, the most).
It reports and never judges; results go to bench/results/reconciliation_pages.json.
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
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.common import add_before_after_arguments, free_port, fresh_database, run_in_scratch_database
from bench.history_scale import ROOT, log, source_tree
from shared.auth import mint_token
from shared.config import Settings, role_password
from shared.migrate import bootstrap, grant, upgrade
from tests.payments.helpers import make_835_file, make_835_set, make_bai2, make_clp, make_core_trn

RESULTS = ROOT / "bench" / "results" / "reconciliation_pages.json"
DAY = date(2026, 3, 2)
SERVER = """
import sys, uvicorn
from dataclasses import replace
from services.payments.service import SERVICE
from shared.app import create_app
from shared.config import Settings
settings = Settings(database_url=sys.argv[2], log_level="WARNING", consumer_group_prefix=sys.argv[3])
app = create_app(replace(SERVICE, handlers={}, workers=[]), settings)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
SCOPES = ("payments:read", "payments:write", "payments:admin")


@contextlib.asynccontextmanager
async def payments_service(tree: Path, url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The payments service of `tree` on a free port, in its own process, and a client with
    every payments scope."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(  # noqa: ASYNC220 - a server process the bench waits on over HTTP
        [sys.executable, "-c", SERVER, str(port), url, f"bench-{uuid.uuid4().hex[:8]}-"], cwd=tree, env=env
    )
    headers = {"Authorization": f"Bearer {mint_token(list(SCOPES), subject='bench')}"}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600
        ) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health/live")).status_code == 200:
                        break
                if proc.poll() is not None:
                    raise RuntimeError(f"the payments service of {tree} exited with {proc.returncode}")
                await asyncio.sleep(0.1)
            yield client
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        if proc.poll() is None:
            proc.kill()


async def load(client: httpx.AsyncClient, deposits: int) -> None:
    """One 835 file with a set per trace, then the bank's deposits of those traces."""
    traces = [f"EFT{i:012d}" for i in range(deposits)]
    sets = [
        make_835_set(
            t,
            [make_clp(f"P{i:016d}", "1", "120.00", "100.00", cas=[("CO", "45", "20.00")])],
            paid_date=DAY.strftime("%Y%m%d"),
        )
        for i, t in enumerate(traces)
    ]
    t0 = time.perf_counter()
    answer = await client.post(
        "/v1/remittances", content=make_835_file(sets), headers={"Content-Type": "application/edi-x12"}
    )
    if answer.is_error:
        log(answer.text[:2000])
    answer.raise_for_status()
    log(f"posted one 835 of {deposits} sets in {time.perf_counter() - t0:.0f} s")
    lines = [
        ("165", 9999 if i % 10 == 0 else 10000, f"B{i:010d}", "", make_core_trn(t))
        for i, t in enumerate(traces)
    ]
    t0 = time.perf_counter()
    answer = await client.post(
        "/v1/bank-deposits",
        content=make_bai2(DAY, lines),
        headers={"Content-Type": "text/plain", "Idempotency-Key": uuid.uuid4().hex},
    )
    if answer.is_error:
        log(answer.text[:2000])
    answer.raise_for_status()
    log(f"imported {deposits} deposits (matched on import) in {time.perf_counter() - t0:.0f} s")


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> tuple[httpx.Response, float]:
    query = {"date_from": DAY.isoformat(), "date_to": DAY.isoformat(), **params}
    t0 = time.perf_counter()
    answer = await client.get(path, params=query)
    answer.raise_for_status()
    return answer, (time.perf_counter() - t0) * 1000


async def report(client: httpx.AsyncClient) -> dict[str, Any]:
    answer, ms = await get(client, "/v1/reports/reconciliation")  # warm-up, then the timed one
    answer, ms = await get(client, "/v1/reports/reconciliation")
    body = answer.json()
    items = {k: len(v["items"] if isinstance(v, dict) else v) for k, v in body.items() if k != "totals"}
    items = {k: n for k, n in items.items() if k in ("matched", "discrepancies")}
    return {"bytes": len(answer.content), "ms": ms, "items": items, "totals": body["totals"]}


async def walk(client: httpx.AsyncClient, limit: int) -> dict[str, Any]:
    """Every page of /matched at `limit`: pages, bytes of the first and the largest, time."""
    sizes, times, cursor, seen = [], [], None, 0
    while True:
        extra = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer, ms = await get(client, "/v1/reports/reconciliation/matched", **extra)
        page = answer.json()
        sizes.append(len(answer.content))
        times.append(ms)
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return {
        "limit": limit,
        "pages": len(sizes),
        "items": seen,
        "first_page_bytes": sizes[0],
        "max_page_bytes": max(sizes),
        "median_page_ms": sorted(times)[len(times) // 2],
        "all_pages_ms": sum(times),
    }


async def run(args: argparse.Namespace, admin: str, name: str, tmp: Path) -> dict[str, Any]:
    url = await fresh_database(admin, name)
    await bootstrap(url, "payments", role_password("payments", Settings(database_url=url)))
    await asyncio.to_thread(upgrade, url, "payments", "head")
    await grant(url, "payments")
    async with payments_service(ROOT, url) as client:
        await load(client, args.deposits)
    result: dict[str, Any] = {}
    async with payments_service(source_tree(args.before_ref, tmp), url) as client:
        result["before"] = await report(client)
    log(f"before: one answer of {result['before']['bytes']:,} bytes in {result['before']['ms']:.0f} ms")
    async with payments_service(ROOT, url) as client:
        result["after"] = await report(client)
        log(f"after: one answer of {result['after']['bytes']:,} bytes in {result['after']['ms']:.0f} ms")
        result["pages"] = [await walk(client, 50), await walk(client, 500)]
    result["same_totals"] = result["before"].pop("totals") == result["after"].pop("totals")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=10_000)
    add_before_after_arguments(parser)
    result = run_in_scratch_database(parser.parse_args(), "bench_recon", run)
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    sys.exit(0 if result["same_totals"] else 1)


if __name__ == "__main__":
    main()
