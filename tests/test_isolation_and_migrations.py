"""Each service owns one schema with its own role and its own migration history."""

from __future__ import annotations

import asyncpg
import pytest

from shared.config import SERVICE_NAMES
from shared.migrate import migrate
from tests.conftest import connect_as


async def test_claims_role_cannot_read_payments_tables(settings):
    claims = await connect_as("claims", settings)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await claims.fetch("SELECT * FROM payments.patient_payments")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await claims.fetch("SELECT * FROM payments.ledger_entries")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await claims.execute("INSERT INTO payments.outbox (event_id) VALUES (gen_random_uuid())")
        # Its own schema works, unqualified, through its search_path.
        assert await claims.fetchval("SELECT current_schema()") == "claims"
        assert await claims.fetchval("SELECT count(*) FROM outbox") >= 0
    finally:
        await claims.close()


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_every_role_sees_only_its_own_schema(settings, admin, name):
    conn = await connect_as(name, settings)
    try:
        for other in SERVICE_NAMES:
            can_use = await conn.fetchval("SELECT has_schema_privilege($1, 'USAGE')", other)
            assert can_use == (other == name), (name, other)
        assert not await conn.fetchval("SELECT has_schema_privilege('public', 'CREATE')")
    finally:
        await conn.close()
    version = await admin.fetchval(f'SELECT version_num FROM "{name}".alembic_version')
    assert version


def test_migrations_are_idempotent(settings):
    migrate(list(SERVICE_NAMES), settings, topics=True)
    migrate(list(SERVICE_NAMES), settings, topics=True)
