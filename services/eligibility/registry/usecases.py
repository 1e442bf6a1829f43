"""Keeping the registry copy (called by the patient.updated / coverage.updated handlers) and
making a coverage check of a patient id and a date from it (called by the checks API)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.checks.domain import Vault
from services.eligibility.checks.schemas import CheckIn, RegistryCheckIn
from services.eligibility.registry import store
from services.eligibility.registry.domain import Copy, check_of, no_coverage
from shared.events.frontoffice import CoverageUpdated, PatientUpdated
from shared.problems import invalid


async def keep_patient(session: AsyncSession, vault: Vault, data: PatientUpdated) -> bool:
    """The patient's demographics at `data.revision`, unless the copy has that one or newer."""
    sealed = vault.seal_json(data.patient.model_dump(mode="json"))
    return await store.keep_half(session, data.patient_id, "patient", data.revision, sealed)


async def keep_coverages(session: AsyncSession, vault: Vault, data: CoverageUpdated) -> bool:
    """The patient's ordered coverages at `data.revision`, unless the copy has that one or newer."""
    sealed = vault.seal_json([c.model_dump(mode="json") for c in data.coverages])
    return await store.keep_half(session, data.patient_id, "coverages", data.revision, sealed)


async def load_copy(session: AsyncSession, vault: Vault, patient_id: str) -> Copy | None:
    """The patient's copy, opened; None when the registry never told us of them."""
    row = await store.load(session, patient_id)
    if row is None:
        return None
    return Copy(
        revision=max(row["patient_revision"], row["coverage_revision"]),
        patient=vault.open_json(row["patient_enc"]) if row["patient_enc"] is not None else None,
        coverages=vault.open_json(row["coverages_enc"]) if row["coverages_enc"] is not None else [],
    )


async def check_from_registry(
    session: AsyncSession, vault: Vault, body: RegistryCheckIn, default_npi: str | None
) -> tuple[CheckIn, dict[str, Any]]:
    """The full check a patient id and a date make from the copy, with the snapshot its 271 is
    compared with (`registry.domain.check_of`). A 422 names `body.patient_id` when the copy has
    no coverage in force, `body.provider_npi` when no provider is known to ask for."""
    npi = body.provider_npi or default_npi
    if npi is None:
        raise invalid(
            ("body.provider_npi", "missing", "Required when ELIGIBILITY_PROVIDER_NPI is not set."),
            detail="1 field(s) broke a rule; see `errors`.",
        )
    async with session.begin():
        copy = await load_copy(session, vault, body.patient_id)
    if copy is None:
        raise no_coverage()
    return check_of(copy, body, npi)
