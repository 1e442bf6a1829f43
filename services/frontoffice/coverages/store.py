"""All of the coverages' SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.coverages.tables import coverages
from shared.bulk import insert_many

COLUMNS = [c for c in coverages.c if c.name not in ("patient_id", "created_at", "updated_at")]


async def of_patient(session: AsyncSession, patient_id: str) -> Sequence[RowMapping]:
    """The patient's coverages (contract columns), any order."""
    stmt = select(*COLUMNS).where(coverages.c.patient_id == patient_id)
    return (await session.execute(stmt)).mappings().all()


async def insert(session: AsyncSession, patient_id: str, row: dict[str, Any], at: datetime) -> None:
    """A new coverage row."""
    await insert_many(
        session, coverages, [{**row, "patient_id": patient_id, "created_at": at, "updated_at": at}]
    )


async def save(session: AsyncSession, coverage_id: uuid.UUID, row: dict[str, Any], at: datetime) -> None:
    """Write a coverage's new values."""
    values = {k: v for k, v in row.items() if k != "coverage_id"}
    await session.execute(
        update(coverages).where(coverages.c.coverage_id == coverage_id).values(**values, updated_at=at)
    )
