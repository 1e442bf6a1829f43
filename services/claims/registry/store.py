"""All SQL on claims' copy of the registry.

Each write is one `shared.bulk.upsert_newer`, guarded by the revision of the half it writes
(demographics or coverages): a redelivered, replayed or reordered event changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.registry.tables import RegistryCopy
from shared.bulk import upsert_newer

_TABLE = RegistryCopy.__table__  # type: ignore[attr-defined]


async def save_patient(
    session: AsyncSession,
    patient_id: str,
    revision: int,
    patient: dict[str, Any],
    guarantor: dict[str, Any],
    at: datetime,
) -> bool:
    """Keep these demographics if `revision` is newer than ours; True when it was kept."""
    row = {
        "patient_id": patient_id,
        "patient_revision": revision,
        "patient": patient,
        "guarantor": guarantor,
        "updated_at": at,
    }
    return bool(await upsert_newer(session, _TABLE, [row], key="patient_id", revision="patient_revision"))


async def save_coverages(
    session: AsyncSession, patient_id: str, revision: int, coverages: list[dict[str, Any]], at: datetime
) -> bool:
    """Keep this coverage list if `revision` is newer than ours; True when it was kept."""
    row = {"patient_id": patient_id, "coverage_revision": revision, "coverages": coverages, "updated_at": at}
    return bool(await upsert_newer(session, _TABLE, [row], key="patient_id", revision="coverage_revision"))


async def copies(session: AsyncSession, patient_ids: Sequence[str]) -> dict[str, RegistryCopy]:
    """Our copies of these patients (one statement for a batch of encounters)."""
    if not patient_ids:
        return {}
    stmt = select(RegistryCopy).where(col(RegistryCopy.patient_id).in_(list(set(patient_ids))))
    return {row.patient_id: row for row in (await session.exec(stmt)).all()}
