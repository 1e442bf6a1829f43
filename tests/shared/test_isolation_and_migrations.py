"""Each service owns one schema with its own role and its own migration history."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from alembic.script import ScriptDirectory

from shared.config import SERVICE_NAMES, asyncpg_dsn
from shared.events.catalogue import TOPICS, dlq_topic
from shared.kafka import client_kwargs
from shared.migrate import alembic_config, migrate
from tests.conftest import as_admin, connect_as


async def test_claims_role_cannot_read_payments_tables(settings, admin):
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
        # `outbox` unqualified is claims' own table: same rows as claims.outbox seen by the admin,
        # and the role may read and write it.
        own = await claims.fetchval("SELECT count(*) FROM outbox")
        assert own == await admin.fetchval("SELECT count(*) FROM claims.outbox")
        assert await claims.fetchval("SELECT has_table_privilege('outbox', 'SELECT,INSERT')")
        assert (
            await claims.fetchval(
                "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'outbox'::regclass"
            )
            == "claims"
        )
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


_SCHEMA_SHAPE = """
    SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default
      FROM information_schema.columns WHERE table_schema = ANY($1::text[])
     ORDER BY 1, 2, 3"""


async def _shape(settings) -> tuple[list[tuple], dict[str, str]]:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        columns = [tuple(r) for r in await conn.fetch(_SCHEMA_SHAPE, list(SERVICE_NAMES))]
        versions = {}
        for name in SERVICE_NAMES:
            versions[name] = await conn.fetchval(f'SELECT version_num FROM "{name}".alembic_version')
    finally:
        await conn.close()
    return columns, versions


def _heads(name: str) -> set[str]:
    scripts = ScriptDirectory.from_config(alembic_config(name))
    return set(scripts.get_heads())


def test_migrations_are_idempotent(settings):
    """Running the migrations again (every `make up` does) changes nothing: the same tables and
    columns, each service still at its own Alembic head, and every topic and dead-letter topic
    still there."""
    before = asyncio.run(_shape(settings))
    migrate(list(SERVICE_NAMES), settings, topics=True)
    migrate(list(SERVICE_NAMES), settings, topics=True)
    after = asyncio.run(_shape(settings))
    assert after == before
    columns, versions = after
    for name in SERVICE_NAMES:
        assert {versions[name]} == _heads(name), name
        assert any(c[0] == name and c[1] == "outbox" for c in columns), name
    topics = asyncio.run(_topics(settings.kafka_bootstrap_servers))
    for topic in TOPICS:
        assert {topic, dlq_topic(topic)} <= topics


async def _topics(bootstrap: str) -> set[str]:
    client = AIOKafkaAdminClient(**client_kwargs(as_admin(bootstrap)))
    await client.start()
    try:
        return set(await client.list_topics())
    finally:
        await client.close()
