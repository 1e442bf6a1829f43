"""Issue 17, item 6: chaining an audit log that already holds many rows does not stop the
services writing to it.

The migration (shared.migrations.chain_audit_log) runs shared.audit_chain.chain_steps: the seq
index is built CONCURRENTLY, the existing rows are chained in batches of BACKFILL_BATCH each in
a transaction of its own, and only the catch-up of the rows written meanwhile holds inserts
off. Here the same steps run on a scratch audit log of ROWS rows while a writer keeps
appending, as an audited service would; no insert may wait long, and the chain must come out
whole with every row in it, the writer's included.
"""

from __future__ import annotations

import asyncio
import os
import time

import asyncpg

from shared.audit_chain import BACKFILL_BATCH, chain_steps, verify
from shared.tables import BACKBONE_DDL

ROWS = 60_000
LONGEST_WAIT = 1.0  # seconds an insert may wait for the migration (one batch takes far less)


async def run_chain_steps(conn: asyncpg.Connection) -> None:
    """What chain_audit_log does through Alembic, on an asyncpg connection."""
    for step in chain_steps():
        if step.backfill:
            last: int | None = 0
            while last is not None:
                last = await conn.fetchval("SELECT audit_chain_backfill($1, $2)", last, BACKFILL_BATCH)
        elif step.autocommit:
            for statement in step.statements:
                await conn.execute(statement)
        else:
            async with conn.transaction():
                for statement in step.statements:
                    await conn.execute(statement)


async def test_chaining_a_big_audit_log_keeps_inserts_flowing(servers):
    from shared.config import asyncpg_dsn

    schema = f"scratch_migrate_{os.urandom(5).hex()}"
    dsn = asyncpg_dsn(servers.database_url)
    migrator = await asyncpg.connect(dsn)
    writer = await asyncpg.connect(dsn)
    try:
        await migrator.execute(f"CREATE SCHEMA {schema}")
        await migrator.execute(f"SET search_path TO {schema}")
        for statement in BACKBONE_DDL:
            await migrator.execute(statement)
        await migrator.execute(
            "INSERT INTO audit_log (actor, action, resource_type, resource_id, patient_id, outcome) "
            "SELECT 'user-' || n % 50, 'read', 'claim', n::text, CASE WHEN n % 3 = 0 THEN NULL "
            "ELSE 'pat-' || n % 997 END, 'success' FROM generate_series(1, $1) n",
            ROWS,
        )
        waits: list[float] = []
        done = asyncio.Event()

        async def keep_writing() -> None:
            while not done.is_set():
                started = time.monotonic()
                await writer.execute(
                    f"INSERT INTO {schema}.audit_log (actor, action, resource_type, patient_id, outcome) "
                    "VALUES ('writer', 'read', 'claim', 'pat-live', 'success')"
                )
                waits.append(time.monotonic() - started)
                await asyncio.sleep(0.005)

        writing = asyncio.create_task(keep_writing())
        started = time.monotonic()
        await run_chain_steps(migrator)
        took = time.monotonic() - started
        await asyncio.sleep(0.05)  # a few more appends, now chained by the trigger
        done.set()
        await writing

        report = await verify(migrator, schema)
        chained = await migrator.fetchval(f"SELECT count(*) FROM {schema}.audit_log WHERE seq IS NOT NULL")
        invalid = await migrator.fetchval(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relnamespace = $1::regnamespace AND NOT i.indisvalid",
            schema,
        )
        patients = await migrator.fetchval(
            f"SELECT count(*) FROM {schema}.audit_log WHERE patient_ids @> ARRAY['pat-live']"
        )
    finally:
        await migrator.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await migrator.close()
        await writer.close()

    assert report.ok, report.breaks[:5]
    assert report.rows == chained == ROWS + len(waits), (report.rows, chained, len(waits))
    assert patients == len(waits)  # old and new rows alike are found per patient
    assert invalid == 0
    assert max(waits) < LONGEST_WAIT, (
        f"an insert waited {max(waits):.2f}s for the migration (took {took:.1f}s)"
    )
    assert len(waits) > 10, f"the writer barely ran during a {took:.1f}s migration"
