"""patient.updated and coverage.updated from the front office: eligibility's registry copy."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.checks.domain import Vault
from services.eligibility.registry import usecases
from services.eligibility.settings import get_eligibility_settings
from shared.events.envelope import Event
from shared.events.frontoffice import CoverageUpdated, PatientUpdated


def _vault() -> Vault:
    """The service's Fernet keys (the copy is PHI, kept sealed like the checks' requests)."""
    return Vault(get_eligibility_settings())


async def on_patient_updated(session: AsyncSession, event: Event) -> None:
    """Keep the newest demographics; an older or repeated revision changes nothing."""
    assert isinstance(event.data, PatientUpdated)
    await usecases.keep_patient(session, _vault(), event.data)


async def on_coverage_updated(session: AsyncSession, event: Event) -> None:
    """Keep the newest coverage list; an older or repeated revision changes nothing."""
    assert isinstance(event.data, CoverageUpdated)
    await usecases.keep_coverages(session, _vault(), event.data)


# Keyed by topic (service.py subscribes the consumer to these).
HANDLERS = {"patient.updated": on_patient_updated, "coverage.updated": on_coverage_updated}
