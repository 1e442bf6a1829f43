"""What the audit hash chain costs: audited requests per second with and without it, one run.

`python -m bench.audit [--seconds 3] [--concurrency 20]` makes a database of its own
(`revcycle_bench_audit`, dropped afterwards) with two schemas holding the backbone tables: `plain`
(the audit log as before issue 17) and `chained` (with shared.audit_chain's trigger: a
per-service advisory lock held from the INSERT to the COMMIT). `concurrency` connections then
each repeat what an audited read does to its connection: BEGIN; a one-row read; INSERT the
audit row; COMMIT. It prints transactions/s for both and the ratio chained / plain, and
verifies the chain it built. It reports and never judges (no timing assertions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import asyncpg

from bench.common import drop_database, fresh_database
from shared.audit_chain import AUDIT_CHAIN_DDL, verify
from shared.config import asyncpg_dsn, get_settings
from shared.tables import BACKBONE_DDL

DATABASE = "revcycle_bench_audit"
INSERT = (
    "INSERT INTO audit_log (actor, action, resource_type, resource_id, patient_id, patient_ids, outcome, "
    "correlation_id, route) VALUES ($1, 'read', 'claim', $2, $3, ARRAY[$3], 'success', $2, "
    "'GET /v1/claims/{claim_id}')"
)


async def prepare(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for schema, extra in (("plain", []), ("chained", AUDIT_CHAIN_DDL)):
            await conn.execute(f"CREATE SCHEMA {schema}")
            await conn.execute(f"SET search_path TO {schema}")
            for statement in (*BACKBONE_DDL, *extra):
                await conn.execute(statement)
            # The audit_log columns issue 17 added, so both schemas take the same INSERT.
            if not extra:
                await conn.execute(
                    "ALTER TABLE audit_log ADD COLUMN patient_ids text[], ADD COLUMN route text"
                )
    finally:
        await conn.close()


async def audited_reads(url: str, schema: str, *, seconds: float, concurrency: int) -> float:
    """Audited-read transactions per second on `concurrency` connections for `seconds`."""
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url), min_size=concurrency, max_size=concurrency, server_settings={"search_path": schema}
    )
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.monotonic() < deadline:
                async with conn.transaction():
                    await conn.fetchval("SELECT count(*) FROM inbox")
                    await conn.execute(INSERT, f"user-{n}", f"claim-{done}", f"pat-{done % 997}")
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.monotonic() - started
    await pool.close()
    return done / elapsed


async def main_async(args: argparse.Namespace) -> dict[str, float | bool | int]:
    admin_url = get_settings().database_url
    url = await fresh_database(admin_url, DATABASE)
    try:
        await prepare(url)
        plain = await audited_reads(url, "plain", seconds=args.seconds, concurrency=args.concurrency)
        chained = await audited_reads(url, "chained", seconds=args.seconds, concurrency=args.concurrency)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            report = await verify(conn, "chained")
        finally:
            await conn.close()
    finally:
        await drop_database(admin_url, DATABASE)
    return {
        "concurrency": args.concurrency,
        "plain_per_s": round(plain),
        "chained_per_s": round(chained),
        "ratio": round(chained / plain, 3),
        "chain_rows": report.rows,
        "chain_intact": report.ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=20)
    result = asyncio.run(main_async(parser.parse_args()))
    print(
        f"audited reads/s: plain {result['plain_per_s']}, chained {result['chained_per_s']} "
        f"(ratio {result['ratio']}); chain of {result['chain_rows']} rows intact: {result['chain_intact']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
