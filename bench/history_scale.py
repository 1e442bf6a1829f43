"""History-scale benchmark (issue 16, item 9): the claims reports on years of claims, before and
after the history indexes, in one run.

    .venv/bin/python -m bench.history_scale [--claims 1000000] [--days 913] [--requests 7]
                                            [--before-ref REF] [--keep]

1. A database of its own (`<db>_bench_scale`, recreated), claims' schema migrated to
   0009_dead_letters (main's schema before this change), and --claims claims with their status
   history, denials and A/R rows spread over --days days up to yesterday, generated in SQL
   (bench/history_load.py), then VACUUM ANALYZE (as autovacuum would have left a table that age).
2. Before: the claims service of --before-ref (default: where this branch left main), from a
   `git archive` of that commit, served by uvicorn in its own process, no consumers or workers.
   GET /v1/reports/kpis for the last 365 days (all payers, then one payer), one warm-up then
   --requests timed requests each; and the delete of one claim that nothing references
   (BEGIN; DELETE; ROLLBACK), which PostgreSQL checks against every foreign key pointing at
   claims.
3. The migrations to head (their duration is a figure too: concurrent index builds on a
   million claims), ANALYZE, then the same requests on this tree's service and the same delete.
4. The KPIs' answers before and after must be equal (the same figures, to the cent and the
   claim); a difference is printed and the run exits 1.

Baselines in the same run: GET /health/live on each server (the HTTP and auth floor), and the
bare SQL `SELECT count(*)` of the year's claims (what reading the range at all costs).
It reports and never judges; results go to bench/results/history_scale.json.
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
import tarfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import add_before_after_arguments, free_port, fresh_database, run_in_scratch_database
from bench.history_load import STEPS
from shared.auth import mint_token
from shared.config import Settings, asyncpg_dsn, role_password
from shared.migrate import bootstrap, grant, upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "history_scale.json"
MAIN_SCHEMA = "0009_dead_letters"
SERVER = """
import sys, uvicorn
from dataclasses import replace
from services.claims.service import SERVICE
from shared.app import create_app
from shared.config import Settings
settings = Settings(database_url=sys.argv[2], log_level="WARNING", consumer_group_prefix=sys.argv[3])
app = create_app(replace(SERVICE, handlers={}, workers=[]), settings)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


async def load(url: str, claims: int, days: int) -> dict[str, float]:
    """Main's claims schema and `claims` claims ending yesterday; seconds per step."""
    settings = Settings(database_url=url)
    await bootstrap(url, "claims", role_password("claims", settings))
    await asyncio.to_thread(upgrade, url, "claims", MAIN_SCHEMA)
    await grant(url, "claims")
    start = datetime.combine(date.today() - timedelta(days=days), datetime.min.time(), UTC)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    took: dict[str, float] = {}
    try:
        await conn.execute("SET search_path TO claims; SET synchronous_commit TO off")
        for table, sql in STEPS:
            t0 = time.perf_counter()
            args = (start, claims, days, "H") if table == "claims" else ("H",)
            result = await conn.execute(sql, *args)
            took[table] = time.perf_counter() - t0
            log(f"loaded {table}: {result.split()[-1]} rows in {took[table]:.0f} s")
        t0 = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) claims, claim_status_history, denials, ar_entries")
        took["vacuum"] = time.perf_counter() - t0
        sizes = await conn.fetch(
            "SELECT relname, pg_total_relation_size(oid) AS bytes, reltuples FROM pg_class "
            "WHERE relnamespace = 'claims'::regnamespace AND relname = ANY($1)",
            [t for t, _ in STEPS],
        )
        for row in sizes:
            log(f"  {row['relname']}: {row['reltuples']:,.0f} rows, {row['bytes'] / 2**20:,.0f} MiB")
    finally:
        await conn.close()
    return took


def source_tree(ref: str, into: Path) -> Path:
    """The project at `ref` (git archive), to run the "before" service from."""
    archive = into / "before.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), ref], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


@contextlib.asynccontextmanager
async def claims_service(tree: Path, url: str) -> AsyncIterator[str]:
    """The claims service of `tree` on a free port, in its own process (uvicorn)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    group = f"bench-{uuid.uuid4().hex[:8]}-"
    proc = subprocess.Popen(  # noqa: ASYNC220 - a server process the bench waits on over HTTP
        [sys.executable, "-c", SERVER, str(port), url, group], cwd=tree, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health/live")).status_code == 200:
                        break
                if proc.poll() is not None:
                    raise RuntimeError(f"the claims service of {tree} exited with {proc.returncode}")
                await asyncio.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        if proc.poll() is None:
            proc.kill()


async def timed(n: int, one: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    """One warm-up call, then `n` timed calls in a row; (milliseconds each, last result)."""
    result = await one()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        result = await one()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


def summary(times: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times)}


async def measure_http(base: str, year: tuple[date, date], requests: int) -> dict[str, Any]:
    """The KPIs for the year, all payers and one payer, and the /health/live floor."""
    headers = {"Authorization": f"Bearer {mint_token(None, subject='bench')}"}
    params = {"date_from": year[0].isoformat(), "date_to": year[1].isoformat()}
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:

        async def get(extra: dict[str, str]) -> dict[str, Any]:
            answer = await client.get("/v1/reports/kpis", params={**params, **extra})
            answer.raise_for_status()
            return answer.json()

        times, out["kpis"] = await timed(requests, lambda: get({}))
        out["kpis_year"] = summary(times)
        times, out["kpis_payer"] = await timed(requests, lambda: get({"payer_id": "PAYER03"}))
        out["kpis_year_one_payer"] = summary(times)
        times, _ = await timed(requests * 3, lambda: client.get("/health/live"))
        out["health_live"] = summary(times)
    return out


async def measure_sql(url: str, year: tuple[date, date], requests: int) -> dict[str, Any]:
    """Deleting one unreferenced claim (rolled back), and the bare count of the year's claims."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("SET search_path TO claims")
        victim = uuid.uuid4()
        await conn.execute(
            "INSERT INTO claims SELECT $1, $2, 'draft', patient_id, "
            "payer_id, 'primary', '1', data, total_charge, date_of_service, "
            "NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, "
            "created_by, created_at, updated_at "
            "FROM claims WHERE patient_control_number = 'H0000000000000001'",
            victim,
            "X" + victim.hex[:16],
        )

        async def delete() -> None:
            async with conn.transaction():
                await conn.execute("DELETE FROM claims WHERE id = $1", victim)
                raise _Rollback

        async def delete_rolled_back() -> None:
            with contextlib.suppress(_Rollback):
                await delete()

        times, _ = await timed(requests, delete_rolled_back)
        await conn.execute("DELETE FROM claims WHERE id = $1", victim)
        count_times, _ = await timed(
            requests,
            lambda: conn.fetchval(
                "SELECT count(*) FROM claims WHERE created_at >= $1 AND created_at < $2",
                datetime.combine(year[0], datetime.min.time(), UTC),
                datetime.combine(year[1] + timedelta(days=1), datetime.min.time(), UTC),
            ),
        )
        return {"delete_one_claim": summary(times), "sql_count_year": summary(count_times)}
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


async def phase(tree: Path, url: str, year: tuple[date, date], requests: int, label: str) -> dict[str, Any]:
    log(f"{label}: timing the KPIs over HTTP ({tree})")
    async with claims_service(tree, url) as base:
        result = await measure_http(base, year, requests)
    result.update(await measure_sql(url, year, requests))
    log(
        f"{label}: kpis {result['kpis_year']['median_ms']:.0f} ms, one payer "
        f"{result['kpis_year_one_payer']['median_ms']:.0f} ms, delete "
        f"{result['delete_one_claim']['median_ms']:.1f} ms"
    )
    return result


async def run(args: argparse.Namespace, admin: str, name: str, tmp: Path) -> dict[str, Any]:
    url = await fresh_database(admin, name)
    loading = await load(url, args.claims, args.days)
    yesterday = date.today() - timedelta(days=1)
    year = (yesterday - timedelta(days=364), yesterday)
    before_tree = source_tree(args.before_ref, tmp)
    before = await phase(before_tree, url, year, args.requests, "before")
    t0 = time.perf_counter()
    await asyncio.to_thread(upgrade, url, "claims", "head")
    await grant(url, "claims")
    migration_s = time.perf_counter() - t0
    log(f"migrated to head in {migration_s:.0f} s")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("ANALYZE claims.claims, claims.claim_status_history, claims.ar_open_totals")
    finally:
        await conn.close()
    after = await phase(ROOT, url, year, args.requests, "after")
    return {
        "load_s": loading,
        "migration_s": migration_s,
        "year": [d.isoformat() for d in year],
        "before": before,
        "after": after,
    }


def report(result: dict[str, Any]) -> int:
    b, a = result["before"], result["after"]
    same = b.pop("kpis") == a.pop("kpis") and b.pop("kpis_payer") == a.pop("kpis_payer")
    rows = [
        ("kpis_year", "GET /v1/reports/kpis, 365 days"),
        ("kpis_year_one_payer", "  the same, one payer"),
        ("delete_one_claim", "DELETE one claim (rolled back)"),
        ("health_live", "baseline GET /health/live"),
        ("sql_count_year", "baseline SELECT count(*) of the year"),
    ]
    print(f"\n{'':38} {'before ms':>10} {'after ms':>10} {'before/after':>13}")
    for key, label in rows:
        x, y = b[key]["median_ms"], a[key]["median_ms"]
        print(f"{label:38} {x:10.1f} {y:10.1f} {x / y:13.1f}")
    print(f"migration to head (concurrent index builds): {result['migration_s']:.0f} s")
    print(f"KPI answers before and after {'identical' if same else 'DIFFERENT'}")
    result["identical_answers"] = same
    return 0 if same else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=913, help="days of history, ending yesterday")
    parser.add_argument("--requests", type=int, default=7, help="timed requests per figure")
    add_before_after_arguments(parser)
    result = run_in_scratch_database(parser.parse_args(), "bench_scale", run)
    code = report(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    sys.exit(code)


if __name__ == "__main__":
    main()
