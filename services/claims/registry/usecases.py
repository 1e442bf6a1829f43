"""Keeping claims' copy of the registry, and filling new claims from it.

The copy keeps the highest revision of each part (store): an older or repeated revision
changes nothing and raises no flags. A coverage change that is kept flags the open claims it
affects (flags.usecases), in the same transaction as the copy and the consumer's inbox row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.flags import usecases as flags
from services.claims.registry import domain, store
from services.claims.registry.domain import Registered
from shared.events.frontoffice import CoverageUpdated, PatientUpdated


async def record_patient(session: AsyncSession, update: PatientUpdated) -> bool:
    """Keep the patient's demographics and guarantor if this revision is newer than ours."""
    return await store.save_patient(
        session,
        update.patient_id,
        update.revision,
        update.patient.model_dump(mode="json"),
        update.guarantor.model_dump(mode="json"),
        update.changed_at,
    )


async def record_coverages(session: AsyncSession, update: CoverageUpdated) -> bool:
    """Keep the patient's coverages if this revision is newer than ours, and then flag the open
    claims its changes affect. An older revision is a replay of one already applied (events of
    a patient share a partition, so they arrive in order): it changes and flags nothing."""
    coverages = [c.model_dump(mode="json") for c in update.coverages]
    kept = await store.save_coverages(
        session, update.patient_id, update.revision, coverages, update.changed_at
    )
    if kept:
        await flags.flag_affected_claims(session, update)
    return kept


async def registered(session: AsyncSession, patient_ids: Sequence[str]) -> dict[str, Registered]:
    """Our copies of these patients, parsed (patients without one are left out)."""
    return {
        patient_id: parsed
        for patient_id, copy in (await store.copies(session, patient_ids)).items()
        if (parsed := domain.parse(copy)) is not None
    }
