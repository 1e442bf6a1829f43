"""Every 837P this test session sent is right: pyx12 finds no error (005010X222A1 map; A2 is
its errata) and the 837P guide's COB balancing holds (tests/claims/cob.py).

It runs after every other test of the session (tests/conftest.py orders it), reads each 837P
the claims service stored as sent (REST, EHR-built, corrected, void, secondary, tertiary) from
the session's database, and checks them all, so no test has to remember to."""

from __future__ import annotations

import asyncpg
import pytest

from shared.config import asyncpg_dsn
from tests.claims.cob import x12_837_errors

pytestmark = pytest.mark.sweep


async def test_every_837p_the_suite_sent_validates_and_balances(settings, request):
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        rows = await conn.fetch(
            "SELECT id, x12_837 FROM claims.claims WHERE x12_837 IS NOT NULL ORDER BY created_at"
        )
    finally:
        await conn.close()
    claims_tests = [i for i in request.session.items if "claims" in i.path.parts and i is not request.node]
    if len(claims_tests) > 100:  # the whole claims suite ran before: it sends 60 or so
        assert len(rows) >= 50, "the session sent fewer 837Ps than the claims tests make"
    failures = {}
    for row in rows:
        errors = x12_837_errors(row["x12_837"])
        if errors:
            failures[str(row["id"])] = errors[:3]
    assert not failures, f"{len(failures)} of {len(rows)} 837Ps are wrong: {dict(list(failures.items())[:5])}"
