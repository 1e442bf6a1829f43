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

from shared.config import asyncpg_dsn, sqlalchemy_url


class Database:
    """Engine, session factory and raw asyncpg access for one service schema."""

    def __init__(self, url: str, schema: str, *, pool_size: int = 10, application_name: str = "") -> None:
        self.url = url
        self.schema = schema
        self.server_settings = {"search_path": schema, "application_name": application_name or schema}
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_timeout=10,
            # Statement errors quote their parameters (names, birth dates, member ids): never.
            hide_parameters=True,
            connect_args={"server_settings": self.server_settings, "timeout": 5},
        )
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def connect_raw(self) -> asyncpg.Connection:
        """A dedicated asyncpg connection (LISTEN/NOTIFY, advisory locks, bulk reads)."""
        return await asyncpg.connect(asyncpg_dsn(self.url), server_settings=self.server_settings, timeout=5)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, closed afterwards."""
    db: Database = request.app.state.db
    async with db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
