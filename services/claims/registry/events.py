"""patient.updated and coverage.updated: the front office's registry, copied for new claims
and for flagging the open claims a coverage change affects (another service's tables are
never read). Idempotent through the consumer's inbox; the copy also ignores older revisions."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.registry import usecases
from shared.consumer import Handler
from shared.events import Event
from shared.events.frontoffice import CoverageUpdated, PatientUpdated


async def on_patient_updated(session: AsyncSession, event: Event) -> None:
    update = event.data
    assert isinstance(update, PatientUpdated)
    await usecases.record_patient(session, update)


async def on_coverage_updated(session: AsyncSession, event: Event) -> None:
    update = event.data
    assert isinstance(update, CoverageUpdated)
    await usecases.record_coverages(session, update)


# Keyed by topic (service.py subscribes the consumer to these).
HANDLERS: dict[str, Handler] = {
    "patient.updated": on_patient_updated,
    "coverage.updated": on_coverage_updated,
}
