"""Prepare the database and the broker: roles, schemas, migrations, topics and their ACLs.

`python -m shared.migrate [service ...]` is idempotent; `make up` and the test session
run it. It needs the admin DATABASE_URL (a role that may create roles and schemas).

Per service it makes a schema and a login role that can use only that schema (its
search_path points there), runs the service's Alembic migrations, and grants the role
read/write on its tables except the audit log, where it may only read and insert.
On the broker it creates every catalogue topic and its dead-letter topic (the broker creates
none by itself) and the ACL bindings shared.kafka_acl derives from the catalogue; for that it
connects as the broker's super user (KAFKA_USERNAME=admin, docs/kafka-security.md).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from shared.config import SERVICE_NAMES, Settings, get_settings, role_name, role_password
from shared.db import connect
from shared.kafka import KafkaAccess, ensure_acls, ensure_topics, kafka_access
from shared.kafka_acl import bindings
from shared.secret_checks import RefusedToStart, database_problems

log = logging.getLogger("migrate")
ROOT = Path(__file__).resolve().parent.parent
BACKBONE_VERSIONS = Path(__file__).resolve().parent / "backbone_migrations"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def bootstrap(admin_url: str, service: str, password: str, root_cert: str | None = None) -> None:
    """Create the schema and role if missing (safe to run again)."""
    conn = await connect(admin_url, root_cert)
    try:
        role, schema = _quote(role_name(service)), _quote(service)
        # CREATE ROLE has no IF NOT EXISTS; a concurrent creator is tolerated below.
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role_name(service))
        if not exists:
            try:
                await conn.execute(f"CREATE ROLE {role} LOGIN")
            except asyncpg.DuplicateObjectError:
                pass
        escaped = password.replace("'", "''")
        await conn.execute(
            f"ALTER ROLE {role} WITH LOGIN PASSWORD '{escaped}' NOSUPERUSER NOCREATEDB NOCREATEROLE"
        )
        await conn.execute(f"ALTER ROLE {role} SET search_path = {schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
        await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        # Nothing of the shared `public` schema is needed by any service.
        await conn.execute(f"REVOKE CREATE ON SCHEMA public FROM {role}")
    finally:
        await conn.close()


async def grant(admin_url: str, service: str, root_cert: str | None = None) -> None:
    """Least privilege on the service's own tables; the audit log is append-only."""
    conn = await connect(admin_url, root_cert)
    try:
        role, schema = _quote(role_name(service)), _quote(service)
        await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
        await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
        await conn.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.alembic_version FROM {role}")
        append_only = await conn.fetch(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE n.nspname = $1 AND p.proname = 'forbid_change'",
            service,
        )
        for row in append_only:
            await conn.execute(
                f"REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{_quote(row['relname'])} FROM {role}"
            )
    finally:
        await conn.close()


def upgrade(admin_url: str, service: str, revision: str = "head", root_cert: str | None = None) -> None:
    """Run the service's Alembic migrations (its own folder, its own version table); over TLS as
    the URL's sslmode says, `root_cert` the CA when the URL names none (shared.db.tls_of)."""
    config = alembic_config(service)
    config.attributes["url"] = admin_url
    config.attributes["ssl_root_cert"] = root_cert
    command.upgrade(config, revision)


def alembic_config(service: str) -> Config:
    """The service's Alembic configuration: the shared backbone revision, then its own history."""
    config = Config()
    service_dir = ROOT / "services" / service / "migrations"
    config.set_main_option("script_location", str(service_dir))
    # The shared backbone revision first, then the service's own history.
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join([str(BACKBONE_VERSIONS), str(service_dir / "versions")])
    )
    return config


def migrate(services: list[str], settings: Settings, *, topics: bool = True) -> None:
    """Everything a fresh database and broker need before the services start."""
    for service in services:
        root = settings.database_ssl_root_cert
        asyncio.run(bootstrap(settings.database_url, service, role_password(service, settings), root))
        upgrade(settings.database_url, service, root_cert=root)
        asyncio.run(grant(settings.database_url, service, root))
        log.info("migrated %s", service)
    if topics:
        created = asyncio.run(prepare_broker(kafka_access(settings), settings.consumer_group_prefix))
        log.info("kafka topics and ACLs ready (%d topics created)", len(created))


async def prepare_broker(kafka: KafkaAccess, group_prefix: str = "") -> list[str]:
    """The catalogue's topics and ACLs (for consumer groups under `group_prefix`, and the
    unprefixed ones); returns the topics created."""
    created = await ensure_topics(kafka)
    policy = bindings(group_prefixes=dict.fromkeys(("", group_prefix)))
    await ensure_acls(kafka, policy)
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "services", nargs="*", metavar="service", help=f"Any of {', '.join(SERVICE_NAMES)}; default all."
    )
    parser.add_argument("--no-topics", action="store_true", help="Skip creating Kafka topics.")
    args = parser.parse_args()
    unknown = sorted(set(args.services) - set(SERVICE_NAMES))
    if unknown:
        parser.error(f"unknown service(s): {', '.join(unknown)}")
    logging.basicConfig(level=logging.INFO, format="migrate: %(message)s", stream=sys.stdout)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    services, settings = list(args.services) or list(SERVICE_NAMES), get_settings()
    # Every role's password before the first change: outside development mode none may be missing.
    problems = [p for service in services for p in database_problems(service, settings)]
    if problems:
        raise RefusedToStart("migrate", sorted(set(problems)))
    migrate(services, settings, topics=not args.no_topics)


if __name__ == "__main__":
    main()
