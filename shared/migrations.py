"""Alembic glue shared by the four services' migration folders.

Each service keeps its own migrations (`services/<name>/migrations/versions`) and its
own version table inside its own schema. Migrations run as the admin role with
`search_path` set to the service's schema, so they create unqualified tables there.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.config import sqlalchemy_url
from shared.tables import BACKBONE_DDL


def _run(connection: Connection, schema: str) -> None:
    context.configure(
        connection=connection,
        version_table="alembic_version",
        version_table_schema=schema,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(schema: str) -> None:
    """Body of every service's env.py: upgrade the schema given in the Alembic config."""
    from shared.db import tls_of

    url, tls = tls_of(context.config.attributes["url"], context.config.attributes.get("ssl_root_cert"))

    async def main() -> None:
        engine = create_async_engine(
            sqlalchemy_url(url),
            poolclass=NullPool,
            hide_parameters=True,
            connect_args={} if tls is None else {"ssl": tls},
        )
        async with engine.connect() as conn:
            await conn.execute(text(f'SET search_path TO "{schema}"'))
            await conn.commit()
            await conn.run_sync(_run, schema)
            await conn.commit()
        await engine.dispose()

    asyncio.run(main())


def create_backbone_tables() -> None:
    """First migration of every service: outbox, inbox, audit log, idempotency keys."""
    from alembic import op

    for statement in BACKBONE_DDL:
        op.execute(statement)


def drop_backbone_tables() -> None:
    from alembic import op

    for table in ("idempotency_keys", "audit_log", "inbox", "outbox"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    for function in ("forbid_change", "outbox_notify"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}() CASCADE")


def create_dead_letter_tables() -> None:
    """The dead-letter index (shared.deadletters), one revision in every service's history."""
    from alembic import op

    from shared.deadletters.tables import DEAD_LETTER_DDL

    for statement in DEAD_LETTER_DDL:
        op.execute(statement)


def drop_dead_letter_tables() -> None:
    from alembic import op

    from shared.deadletters.tables import DEAD_LETTER_TABLES

    for table in DEAD_LETTER_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")


def create_indexes_concurrently(indexes: dict[str, str]) -> None:
    """Create indexes (name -> `ON table (...) [INCLUDE (...)] [WHERE ...]`) without locking
    their tables against writes: CREATE INDEX CONCURRENTLY, which cannot run inside a
    transaction, so in Alembic's autocommit block (the migration's transaction is committed
    first). A plain CREATE INDEX would hold a SHARE lock, stopping every insert and update of a
    million-row table for as long as the build takes (minutes), while the services run.

    Safe to run again: an index that exists is kept; one left INVALID by an interrupted
    concurrent build (which IF NOT EXISTS alone would keep, unusable) is dropped and rebuilt."""
    from alembic import op

    with op.get_context().autocommit_block():
        for name, definition in indexes.items():
            invalid = (
                op.get_bind()
                .execute(
                    text(
                        "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "WHERE c.relname = :name AND c.relnamespace = CAST(current_schema() AS regnamespace)"
                    ),
                    {"name": name},
                )
                .scalar()
            )
            if invalid:
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")


def drop_indexes_concurrently(names: list[str]) -> None:
    """Drop indexes without blocking the tables' readers and writers (the downgrade of
    create_indexes_concurrently)."""
    from alembic import op

    with op.get_context().autocommit_block():
        for name in names:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def chain_audit_log() -> None:
    """Issue 17: the audit log's hash chain, refusal and bulk-read columns (shared.audit_chain),
    one revision in every service's history. The rows already there are chained, oldest first,
    in short batches while the services keep writing (shared.audit_chain.chain_steps): no step
    stops inserts for longer than one batch of BACKFILL_BATCH rows or the final catch-up."""
    from alembic import op

    from shared.audit_chain import BACKFILL_BATCH, chain_steps

    for step in chain_steps():
        if not step.autocommit and not step.backfill:
            for statement in step.statements:
                op.execute(statement)
            continue
        with op.get_context().autocommit_block():
            for statement in step.statements:
                op.execute(statement)
            last: int | None = 0
            while step.backfill and last is not None:
                last = (
                    op.get_bind()
                    .execute(
                        text("SELECT audit_chain_backfill(:after, :batch)"),
                        {"after": last, "batch": BACKFILL_BATCH},
                    )
                    .scalar()
                )


def unchain_audit_log() -> None:
    from alembic import op

    from shared.audit_chain import AUDIT_UNCHAIN_DDL

    for statement in AUDIT_UNCHAIN_DDL:
        op.execute(statement)
