"""All SQL on the providers table."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.claims.providers.schemas import ProviderFilters
from services.claims.providers.tables import Provider

# Columns a write sets; id and created_* are the first write's.
CONTENT = ("entity_type", "name", "first_name", "taxonomy", "tax_id", "tax_id_type", "address", "roles")


async def get(session: AsyncSession, npi: str, *, lock: bool = False) -> Provider | None:
    """One provider by NPI, locked for update when the caller is about to change it."""
    stmt = select(Provider).where(Provider.npi == npi)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def by_npis(session: AsyncSession, npis: Collection[str]) -> Sequence[Provider]:
    """The registered ones of these NPIs, in one statement (a batch of encounters)."""
    if not npis:
        return []
    return (await session.exec(select(Provider).where(col(Provider.npi).in_(sorted(npis))))).all()


def list_statement(filters: ProviderFilters) -> SelectOfScalar[Provider]:
    """Providers matching the list's filters; paging is the caller's."""
    stmt = select(Provider)
    if filters.role:
        stmt = stmt.where(col(Provider.roles).contains([filters.role]))
    if filters.entity_type:
        stmt = stmt.where(Provider.entity_type == filters.entity_type)
    return stmt


async def insert_new(session: AsyncSession, content: dict[str, Any], actor: str, when: datetime) -> bool:
    """Insert a provider unless its NPI is registered already; whether it was inserted."""
    values = {"id": uuid.uuid4(), **content, "created_by": actor, "updated_by": actor}
    stmt = (
        insert(Provider)
        .values(**values, created_at=when, updated_at=when)
        .on_conflict_do_nothing(index_elements=["npi"])
        .returning(col(Provider.id))
    )
    return (await session.execute(stmt)).first() is not None


async def upsert(session: AsyncSession, content: dict[str, Any], actor: str, when: datetime) -> bool:
    """Insert the provider, or replace what is registered for its NPI (one statement, so two
    writers of one new NPI cannot collide); True when it was inserted."""
    values = {"id": uuid.uuid4(), **content, "created_by": actor, "updated_by": actor}
    stmt = insert(Provider).values(**values, created_at=when, updated_at=when)
    changed = {name: stmt.excluded[name] for name in (*CONTENT, "updated_by", "updated_at")}
    stmt = stmt.on_conflict_do_update(index_elements=["npi"], set_=changed).returning(
        literal_column("xmax = 0")  # PostgreSQL: a row this statement inserted has no xmax
    )
    return bool((await session.execute(stmt)).scalar_one())


async def remove(session: AsyncSession, npi: str) -> bool:
    """Delete a provider; whether there was one. Claims already made keep their copy."""
    result = await session.execute(
        delete(Provider).where(col(Provider.npi) == npi).returning(col(Provider.id))
    )
    return result.first() is not None
