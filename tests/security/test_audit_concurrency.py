"""Issue 17, item 5: an audited request holds one pool connection, never two.

Before the fix each audited request kept its session's connection while the audit entry took a
second one from the same pool; 20 concurrent requests emptied the 20-connection pool and every
one of them waited for a connection none would give back (10 s stalls, 500s, "audit write
failed", lost audit rows). Here 200 audited reads run at once, through HTTP against the claims
app with the pool size of its real configuration, and each leaves exactly one audit row.
"""

from __future__ import annotations

import asyncio

from tests.claims.helpers import make_claim
from tests.conftest import token, unique
from tests.security.helpers import api_only, get_audit_rows

CONCURRENT = 200


async def test_200_concurrent_audited_reads_give_no_errors_and_lose_no_audit_rows(settings, admin):
    reader = unique("reader")
    async with api_only("claims", settings) as (_, client):
        created = await client.post("/v1/claims", json=make_claim(), headers=token("claims:write"))
        assert created.status_code == 201, created.text
        claim_id = created.json()["id"]

        async def read() -> int:
            resp = await client.get(f"/v1/claims/{claim_id}", headers=token("claims:read", subject=reader))
            return resp.status_code

        results = await asyncio.gather(*(read() for _ in range(CONCURRENT)), return_exceptions=True)

    errors = [r for r in results if isinstance(r, BaseException) or r != 200]
    assert errors == [], f"{len(errors)} of {CONCURRENT} reads failed: {sorted(map(repr, errors))[:3]}"
    rows = await get_audit_rows(admin, "claims", actor=reader)
    assert len(rows) == CONCURRENT, f"{CONCURRENT - len(rows)} audit rows lost"
    assert {(r["action"], r["resource_id"], r["outcome"]) for r in rows} == {("read", claim_id, "success")}


def test_pool_size_comes_from_configuration(settings):
    """The pool is sized from DB_POOL_SIZE (and DB_MAX_OVERFLOW, DB_POOL_TIMEOUT_SECONDS)."""
    from shared.config import Settings
    from shared.db import Database

    configured = Settings(db_pool_size=7, db_max_overflow=3, db_pool_timeout_seconds=4.0)
    db = Database.from_settings("claims", configured)
    pool = db.engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (7, 3, 4.0)  # type: ignore[attr-defined]
