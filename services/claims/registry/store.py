"""All SQL on claims' copy of the registry.

Each write is one upsert whose update only happens when the incoming revision is higher than
the stored one (`WHERE ... < EXCLUDED...`): a redelivered, replayed or reordered event
changes nothing, also when two replicas race on one patient (the row lock of the upsert
serialises them and the later one compares against the first's revision)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.registry.tables import RegistryCopy

_SAVE_PATIENT = text(
    """
    INSERT INTO registry_copies (patient_id, patient_revision, patient, guarantor, updated_at)
    VALUES (:patient_id, :revision, :patient, :guarantor, :at)
    ON CONFLICT (patient_id) DO UPDATE
       SET patient_revision = EXCLUDED.patient_revision, patient = EXCLUDED.patient,
           guarantor = EXCLUDED.guarantor, updated_at = EXCLUDED.updated_at
     WHERE registry_copies.patient_revision IS NULL
        OR registry_copies.patient_revision < EXCLUDED.patient_revision
    RETURNING patient_id
    """
).bindparams(bindparam("patient", type_=JSONB), bindparam("guarantor", type_=JSONB))

_SAVE_COVERAGES = text(
    """
    INSERT INTO registry_copies (patient_id, coverage_revision, coverages, updated_at)
    VALUES (:patient_id, :revision, :coverages, :at)
    ON CONFLICT (patient_id) DO UPDATE
       SET coverage_revision = EXCLUDED.coverage_revision, coverages = EXCLUDED.coverages,
           updated_at = EXCLUDED.updated_at
     WHERE registry_copies.coverage_revision IS NULL
        OR registry_copies.coverage_revision < EXCLUDED.coverage_revision
    RETURNING patient_id
    """
).bindparams(bindparam("coverages", type_=JSONB))


async def save_patient(
    session: AsyncSession,
    patient_id: str,
    revision: int,
    patient: dict[str, Any],
    guarantor: dict[str, Any],
    at: datetime,
) -> bool:
    """Keep these demographics if `revision` is newer than ours; True when it was kept."""
    params = {
        "patient_id": patient_id,
        "revision": revision,
        "patient": patient,
        "guarantor": guarantor,
        "at": at,
    }
    return (await session.execute(_SAVE_PATIENT, params)).first() is not None


async def save_coverages(
    session: AsyncSession, patient_id: str, revision: int, coverages: list[dict[str, Any]], at: datetime
) -> bool:
    """Keep this coverage list if `revision` is newer than ours; True when it was kept."""
    params = {"patient_id": patient_id, "revision": revision, "coverages": coverages, "at": at}
    return (await session.execute(_SAVE_COVERAGES, params)).first() is not None


async def copies(session: AsyncSession, patient_ids: Sequence[str]) -> dict[str, RegistryCopy]:
    """Our copies of these patients (one statement for a batch of encounters)."""
    if not patient_ids:
        return {}
    stmt = select(RegistryCopy).where(col(RegistryCopy.patient_id).in_(list(set(patient_ids))))
    return {row.patient_id: row for row in (await session.exec(stmt)).all()}
