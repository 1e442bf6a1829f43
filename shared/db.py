"""The database session: one engine per service, bound to the service's own schema.

The service connects as its own role with `search_path` set to its schema, so models
and SQL use unqualified table names and cannot reach another service's tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.config import Settings, asyncpg_dsn, service_database_url, sqlalchemy_url


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
    ) -> None:
        self.url = url
        self.schema = schema
        self.server_settings = {"search_path": schema, "application_name": application_name or schema}
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            pool_pre_ping=True,
            pool_timeout=pool_timeout,
            # Statement errors quote their parameters (names, birth dates, member ids): never.
            hide_parameters=True,
            connect_args={"server_settings": self.server_settings, "timeout": 5},
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
        )

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def connect_raw(self) -> asyncpg.Connection:
        """A dedicated asyncpg connection (LISTEN/NOTIFY, advisory locks, bulk reads)."""
        return await asyncpg.connect(asyncpg_dsn(self.url), server_settings=self.server_settings, timeout=5)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, closed afterwards. It is the request's only
    connection: the audit entry (shared.audit) is written through it too, so an audited request
    never holds one pooled connection while it waits for a second."""
    db: Database = request.app.state.db
    async with db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
