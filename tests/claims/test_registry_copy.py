"""Claims' copy of the front office's registry (issue 19): patient.updated and coverage.updated
on the real broker, kept per patient at the highest revision of each part.

The contract (shared/events/frontoffice.py): each event carries the whole current record and
a per-patient revision; "a copy keeps the highest revision, so redelivery or reordering never
rolls it back". A test knows a stale event was handled (and changed nothing) by its inbox row:
the consumer commits it with the handler's effect."""

from __future__ import annotations

from datetime import date

import pytest

from services.claims.registry import domain
from tests.claims.helpers import (
    get_registry_copy,
    handled,
    make_coverage,
    make_coverage_updated,
    make_patient_updated,
    publish,
)
from tests.conftest import eventually, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")


async def _copy_at(settings, patient_id: str, part: str, revision: int):
    row = await get_registry_copy(settings, patient_id)
    return row if row is not None and row[f"{part}_revision"] == revision else None


async def test_the_copy_keeps_the_highest_revision_of_each_part(claims, settings, producer):
    patient_id = unique("pat")
    async with claims():
        await publish(producer, make_patient_updated(patient_id, 3, last_name="Rivera"))
        await eventually(lambda: _copy_at(settings, patient_id, "patient", 3), what="patient revision 3")
        # An older (2) and a repeated (3, another event id) revision change nothing.
        stale = [
            await publish(producer, make_patient_updated(patient_id, 2, last_name="Stale")),
            await publish(producer, make_patient_updated(patient_id, 3, last_name="Repeated")),
        ]
        await eventually(lambda: handled(settings, stale), what="the stale patient.updated handled")
        row = await get_registry_copy(settings, patient_id)
        assert (row["patient_revision"], row["patient"]["last_name"]) == (3, "Rivera")

        # The counter is shared: coverages at 4 are kept, then an older list (2) is not, while a
        # patient.updated at 5 (newer than the demographics' 3) is.
        await publish(producer, make_coverage_updated(patient_id, 4, [make_coverage(member_id="MEM4")]))
        await eventually(lambda: _copy_at(settings, patient_id, "coverage", 4), what="coverages at 4")
        later = [
            await publish(producer, make_coverage_updated(patient_id, 2, [make_coverage(member_id="OLD2")])),
            await publish(producer, make_patient_updated(patient_id, 5, last_name="Moved")),
        ]
        await eventually(lambda: handled(settings, later), what="the later events handled")
        row = await get_registry_copy(settings, patient_id)
        assert (row["patient_revision"], row["patient"]["last_name"]) == (5, "Moved")
        assert (row["coverage_revision"], [c["member_id"] for c in row["coverages"]]) == (4, ["MEM4"])


def test_the_coverage_in_force_on_the_date_of_service_is_billed_primary_first():
    dos = date(2026, 6, 15)
    ended = make_coverage("SBX001", "OLD1", termination_date=date(2026, 5, 31))
    primary = make_coverage("SBX003", "NEW1", effective_date=date(2026, 6, 1))
    secondary = make_coverage("SBX002", "SEC1", order="secondary")
    later = make_coverage("SBX001", "FUT1", order="tertiary", effective_date=date(2026, 7, 1))
    coverages = [secondary, ended, later, primary]

    assert domain.in_force(coverages, dos) == [primary, secondary]
    assert domain.in_force(coverages, date(2026, 5, 31)) == [ended, secondary]  # termination day included
    assert domain.billed_coverage(coverages, dos, payer_id=None, order="primary") is primary
    assert domain.billed_coverage(coverages, dos, payer_id=None, order="secondary") is secondary
    assert domain.billed_coverage(coverages, dos, payer_id="SBX002", order="primary") is secondary
    assert domain.billed_coverage(coverages, dos, payer_id="SBX001", order="primary") is None
