"""The database session: one engine per service, bound to the service's own schema.

The service connects as its own role with `search_path` set to its schema, so models
and SQL use unqualified table names and cannot reach another service's tables.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.config import Settings, asyncpg_dsn, service_database_url, sqlalchemy_url

# libpq's TLS parameters: asyncpg takes `ssl=` instead (and SQLAlchemy would pass them on to
# asyncpg.connect as keyword arguments it does not know), so tls_of turns them into that.
TLS_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "ssl")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def tls_of(url: str, root_cert: str | None = None) -> tuple[str, Any]:
    """(the URL without libpq's TLS parameters, asyncpg's `ssl=` for them). `sslmode` as libpq
    reads it: require encrypts (and, given a root certificate, checks the chain as libpq does),
    verify-ca checks the server's certificate against `sslrootcert` (or `root_cert`, or the
    system's CAs), verify-full its host name too. No sslmode: asyncpg's default (PGSSLMODE, else
    prefer: TLS when the server offers it, unverified)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = {k: v for k, v in query if k in TLS_PARAMETERS}
    plain = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k not in TLS_PARAMETERS])))
    mode = given.get("sslmode") or given.get("ssl") or os.environ.get("PGSSLMODE")
    if mode is None:
        return plain, None
    if mode not in SSL_MODES:
        raise ValueError(f"sslmode {mode!r} is not one of {', '.join(SSL_MODES)}")
    if mode in ("disable", "allow", "prefer"):
        return plain, False if mode == "disable" else mode
    cafile = given.get("sslrootcert") or root_cert or os.environ.get("PGSSLROOTCERT")
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = mode == "verify-full"
    if mode == "require" and not cafile:
        context.verify_mode = ssl.CERT_NONE  # encrypted, the server unauthenticated
    if given.get("sslcert"):
        context.load_cert_chain(given["sslcert"], given.get("sslkey"))
    return plain, context


class Database:
    """Engine, session factory and raw asyncpg access for one service schema."""

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        pool_timeout: float = 10.0,
        application_name: str = "",
        ssl_root_cert: str | None = None,
    ) -> None:
        self.url = url
        self.schema = schema
        self.server_settings = {"search_path": schema, "application_name": application_name or schema}
        self.ssl_root_cert = ssl_root_cert
        self.dsn, self.ssl = tls_of(asyncpg_dsn(url), ssl_root_cert)
        tls = {} if self.ssl is None else {"ssl": self.ssl}
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(self.dsn),
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            pool_pre_ping=True,
            pool_timeout=pool_timeout,
            # Statement errors quote their parameters (names, birth dates, member ids): never.
            hide_parameters=True,
            connect_args={"server_settings": self.server_settings, "timeout": 5, **tls},
        )
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @classmethod
    def from_settings(cls, service: str, settings: Settings) -> Database:
        """The service's database as configured: its own role, its schema, the pool sized by
        DB_POOL_SIZE, DB_MAX_OVERFLOW and DB_POOL_TIMEOUT_SECONDS."""
        return cls(
            service_database_url(service, settings),
            service,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            application_name=service,
            ssl_root_cert=settings.database_ssl_root_cert,
        )

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def connect_raw(self) -> asyncpg.Connection:
        """A dedicated asyncpg connection (LISTEN/NOTIFY, advisory locks, bulk reads)."""
        return await connect(self.url, self.ssl_root_cert, server_settings=self.server_settings, timeout=5)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def connect(url: str, root_cert: str | None = None, **options: Any) -> asyncpg.Connection:
    """A plain asyncpg connection to a postgres URL, over TLS as its sslmode says (tls_of)."""
    dsn, tls = tls_of(asyncpg_dsn(url), root_cert)
    return await asyncpg.connect(dsn, **({} if tls is None else {"ssl": tls}), **options)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, closed afterwards. It is the request's only
    connection: the audit entry (shared.audit) is written through it too, so an audited request
    never holds one pooled connection while it waits for a second."""
    db: Database = request.app.state.db
    async with db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
