"""Helpers of the security tests: an API-only service in process, audit rows read as the admin,
and the audit chain's verify command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.app import create_app
from shared.config import Settings
from tests.conftest import service_definition

ROOT = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def api_only(name: str, settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The service's app with its real pool (settings.db_pool_size) and its lifespan, without
    consumers and workers (the shared broker holds other runs' events); (app, client)."""
    definition = replace(service_definition(name), handlers={}, workers=[])
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=120) as client:
            yield app, client


async def get_audit_rows(admin: asyncpg.Connection, schema: str, **equal: Any) -> list[dict[str, Any]]:
    """The schema's audit rows whose columns equal the given values, oldest first."""
    where = " AND ".join(f"{column} = ${i}" for i, column in enumerate(equal, start=1)) or "true"
    rows = await admin.fetch(f"SELECT * FROM {schema}.audit_log WHERE {where} ORDER BY id", *equal.values())
    return [dict(row) for row in rows]


async def run_audit_verify(database_url: str, *services: str) -> tuple[int, str]:
    """`python -m shared.audit_chain [service ...]` against the test database: (exit code, output)."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.audit_chain",
        *services,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


@contextlib.asynccontextmanager
async def scratch_audit_schema(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A throwaway schema with the backbone tables and the audit chain, for tampering with."""
    from shared.audit_chain import AUDIT_CHAIN_DDL
    from shared.tables import BACKBONE_DDL

    schema = f"scratch_audit_{os.urandom(5).hex()}"
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        await admin.execute(f"SET search_path TO {schema}")
        for statement in (*BACKBONE_DDL, *AUDIT_CHAIN_DDL):
            await admin.execute(statement)
        await admin.execute("RESET search_path")
        yield schema
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
