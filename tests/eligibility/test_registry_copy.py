"""Eligibility's copy of the front office registry: patient.updated and coverage.updated (the
whole record with a per-patient revision, shared/events/frontoffice.py) are kept per patient at
the highest revision seen; an older or repeated revision changes nothing; the copy is sealed."""

from __future__ import annotations

from typing import Any

from services.eligibility.registry.events import on_coverage_updated, on_patient_updated
from services.eligibility.registry.usecases import load_copy
from shared.events import new_event
from shared.events.envelope import encode
from tests.conftest import eventually, unique
from tests.eligibility.helpers import (
    make_coverage,
    make_coverage_updated,
    make_demographics,
    make_patient_updated,
)


async def publish(producer: Any, payload: Any) -> None:
    """Publish a front office event as the front office does (source /services/frontoffice)."""
    topic, key, value, headers = encode(new_event(payload))
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)


async def copy_of(app: Any, patient_id: str) -> Any:
    async with app.state.db.session() as session:
        return await load_copy(session, app.state.checks.vault, patient_id)


async def handle(app: Any, handler: Any, payload: Any) -> None:
    """One event through the service's handler, in its own transaction (as the consumer runs it)."""
    async with app.state.db.session() as session, session.begin():
        await handler(session, new_event(payload))


async def test_the_registry_events_on_kafka_make_the_copy(eligibility, producer, admin):
    patient = unique("rpat")
    person = make_demographics(first_name="Alex")
    coverage = make_coverage()
    async with eligibility() as (app, _):
        await publish(producer, make_patient_updated(patient, 1, person))
        await publish(producer, make_coverage_updated(patient, 2, [coverage]))

        async def kept() -> Any:
            copy = await copy_of(app, patient)
            return copy if copy is not None and copy.revision == 2 and copy.patient else None

        copy = await eventually(kept, timeout=30, what="the copy at revision 2")
    assert copy.patient == person.model_dump(mode="json")
    assert copy.coverages == [coverage.model_dump(mode="json")]
    # PHI at rest is sealed, as the checks' requests are.
    sealed = await admin.fetchrow(
        "SELECT patient_enc, coverages_enc FROM eligibility.registry_copies WHERE patient_id = $1", patient
    )
    assert b"ALEX" not in sealed["patient_enc"].upper() and b"SBX10001" not in sealed["coverages_enc"]


async def test_an_older_or_repeated_revision_changes_nothing(eligibility):
    patient = unique("rpat")
    async with eligibility() as (app, _):
        await handle(
            app, on_patient_updated, make_patient_updated(patient, 3, make_demographics(first_name="New"))
        )
        # redelivered late: an older revision, and the same revision again with other content
        await handle(
            app, on_patient_updated, make_patient_updated(patient, 2, make_demographics(first_name="Old"))
        )
        await handle(
            app, on_patient_updated, make_patient_updated(patient, 3, make_demographics(first_name="Dup"))
        )
        copy = await copy_of(app, patient)
        assert (copy.revision, copy.patient["first_name"]) == (3, "New")

        # coverage.updated counts on the same per-patient counter but on its own topic: a lower
        # number than the patient half's is still news for the coverage half.
        first = make_coverage()
        await handle(app, on_coverage_updated, make_coverage_updated(patient, 2, [first]))
        await handle(app, on_coverage_updated, make_coverage_updated(patient, 2, []))
        await handle(app, on_coverage_updated, make_coverage_updated(patient, 1, []))
        copy = await copy_of(app, patient)
        assert copy.revision == 3 and [c["coverage_id"] for c in copy.coverages] == [str(first.coverage_id)]

        moved = make_demographics(
            first_name="New", address={**make_demographics().address.model_dump(), "line1": "2 ELM ST"}
        )
        await handle(app, on_patient_updated, make_patient_updated(patient, 4, moved))
        await handle(app, on_coverage_updated, make_coverage_updated(patient, 5, []))
        copy = await copy_of(app, patient)
        assert copy.revision == 5 and copy.patient["address"]["line1"] == "2 ELM ST" and copy.coverages == []
