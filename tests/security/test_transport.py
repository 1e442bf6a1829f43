"""Issue 17, item 10: PostgreSQL connections use TLS where the URL's sslmode says so.

The services (shared.db.Database: the pool and its raw connections), the migrations
(shared.migrate) and the audit verifier connect through shared.db.tls_of, which turns libpq's
`sslmode`/`sslrootcert` into asyncpg's `ssl=`. A throwaway cluster of our own on another port
(deploy.postgres.scratch_cluster: its own CA, TLS-only over TCP) stands in for a production
server, so the shared development server is never touched.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from deploy.postgres import scratch_cluster
from shared.config import Settings
from shared.db import Database, connect, tls_of
from shared.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
ENCRYPTED = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[str, str]]:
    """(admin URL without sslmode, the cluster's CA file)."""
    directory = ROOT / ".state" / f"pg-tls-test-{os.urandom(4).hex()}"
    with scratch_cluster(directory, _free_port()) as url:
        yield url, str(directory / "tls" / "ca.pem")


def test_sslmode_becomes_asyncpg_ssl_and_leaves_the_url(tmp_path):
    from deploy.tls import ensure_ca

    ensure_ca(tmp_path)
    ca = tmp_path / "ca.pem"
    plain, tls = tls_of(f"postgresql://u:p@db:5432/x?sslmode=verify-full&sslrootcert={ca}&application_name=a")
    assert plain == "postgresql://u:p@db:5432/x?application_name=a"
    assert isinstance(tls, ssl.SSLContext) and tls.check_hostname and tls.verify_mode == ssl.CERT_REQUIRED
    _, required = tls_of("postgresql://db/x?sslmode=require")
    assert isinstance(required, ssl.SSLContext) and required.verify_mode == ssl.CERT_NONE
    assert tls_of("postgresql://db/x?sslmode=disable")[1] is False
    assert tls_of("postgresql://db/x?sslmode=prefer")[1] == "prefer"
    with pytest.raises(ValueError, match="sslmode 'required'"):
        tls_of("postgresql://db/x?sslmode=required")


async def test_the_service_pool_and_raw_connections_use_tls_as_sslmode_says(tls_server):
    url, ca = tls_server
    for query in ("?sslmode=require", f"?sslmode=verify-full&sslrootcert={ca}", ""):
        db = Database(url + query, "public")
        try:
            async with db.session() as session:
                assert (await session.execute(text(ENCRYPTED))).scalar() is True, query
            raw = await db.connect_raw()
            try:
                assert await raw.fetchval(ENCRYPTED) is True, query
            finally:
                await raw.close()
        finally:
            await db.dispose()
    # The CA from the settings when the URL names none (DATABASE_SSL_ROOT_CERT).
    conn = await connect(url + "?sslmode=verify-full", ca)
    try:
        assert await conn.fetchval(ENCRYPTED) is True
    finally:
        await conn.close()


async def test_verification_refuses_a_server_the_ca_did_not_sign_and_plain_tcp_is_refused(
    tls_server, tmp_path
):
    url, _ = tls_server
    from deploy.tls import ensure_ca

    ensure_ca(tmp_path)  # another CA: the server's certificate does not chain to it
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(f"{url}?sslmode=verify-full&sslrootcert={tmp_path / 'ca.pem'}")
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):  # hostnossl ... reject
        await connect(f"{url}?sslmode=disable")


def test_migrations_run_over_tls(tls_server):
    url, ca = tls_server
    settings = Settings(database_url=url + "?sslmode=verify-full", database_ssl_root_cert=ca)
    migrate(["notifications"], settings, topics=False)  # bootstrap, Alembic and grants, all over TLS


def test_the_service_role_connects_over_tls_after_migrating(tls_server):
    url, ca = tls_server
    settings = Settings(database_url=f"{url}?sslmode=verify-full&sslrootcert={ca}")
    migrate(["notifications"], settings, topics=False)  # again: a no-op upgrade

    async def check() -> tuple[bool, str]:
        db = Database.from_settings("notifications", settings)  # its own role, the same sslmode
        try:
            async with db.session() as session:
                encrypted = (await session.execute(text(ENCRYPTED))).scalar()
                return encrypted, (await session.execute(text("SELECT current_user"))).scalar()
        finally:
            await db.dispose()

    assert asyncio.run(check()) == (True, "notifications_svc")
