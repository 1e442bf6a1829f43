"""Checks run from the registry with only a patient id and a date, against the payer sandbox.

From the 005010X279A1 guide, what the 270 must carry:
- loop 2100A NM1*PR: the payer (NM108 PI, NM109 its id): the coverage's payer;
- the patient holds the coverage (relationship 18): loop 2000C HL*..*22 with HL04 0 (no
  dependent follows), 2100C NM1*IL name and member id (NM108 MI), DMG*D8 birth date;
- the patient is the subscriber's dependent: 2000C HL04 1, 2100C NM1*IL the subscriber's name
  and the member id, then 2000D HL*..*23, 2100D NM1*03 (no id in 5010) the patient's name,
  DMG*D8 the patient's birth date and sex, INS*N*<relationship>.
"""

from __future__ import annotations

from typing import Any

from services.eligibility.registry.events import on_coverage_updated, on_patient_updated
from tests.conftest import unique
from tests.eligibility.helpers import (
    NPI,
    get_raw_x12,
    make_coverage,
    make_coverage_updated,
    make_demographics,
    make_patient_updated,
    post_check,
    post_registry_check,
    x279_errors,
)
from tests.eligibility.test_registry_copy import handle


def segments(text: str) -> list[list[str]]:
    """An interchange's segments as element lists (ISA says the delimiters: ISA's 4th character
    separates elements, its 106th ends segments)."""
    element, terminator = text[3], text[105]
    return [s.strip().split(element) for s in text.split(terminator) if s.strip()]


async def register(app: Any, patient_id: str, person: Any, coverages: list[Any]) -> None:
    await handle(app, on_patient_updated, make_patient_updated(patient_id, 1, person))
    await handle(app, on_coverage_updated, make_coverage_updated(patient_id, 2, coverages))


async def test_a_patient_id_and_a_date_ask_about_the_coverage_in_force(eligibility):
    patient = unique("rchk")
    coverages = [
        make_coverage("SBX10002", effective_date="2020-01-01", termination_date="2024-12-31"),
        make_coverage("SBX10001", effective_date="2025-01-01"),
        make_coverage("SBX40002S", order="secondary"),
    ]
    async with eligibility(provider_npi=NPI) as (app, client):
        await register(app, patient, make_demographics("SBX10001"), coverages)
        today = await post_registry_check(client, patient)
        assert today.status_code == 200, today.text
        check = today.json()
        assert (check["payer_id"], check["member_hint"], check["status"]) == ("SBX001", "0001", "active")
        assert check["registry_revision"] == 2

        sent = (await get_raw_x12(client, check["id"]))["x12_270"]
        assert x279_errors(sent) == []
        segs = segments(sent)
        assert ["NM1", "PR", "2", "SANDBOX HEALTH PLAN", "", "", "", "", "PI", "SBX001"] in segs
        assert ["HL", "3", "2", "22", "0"] in segs  # 2000C, no dependent loop follows
        assert ["NM1", "IL", "1", "ACTIVE", "ALEX", "", "", "", "MI", "SBX10001"] in segs  # 2100C
        assert ["DMG", "D8", "19800115"] in segs
        assert not [s for s in segs if s[0] == "NM1" and s[1] == "03"]

        before = await post_registry_check(client, patient, date_of_service="2024-06-01")
        assert before.status_code == 200 and before.json()["member_hint"] == "0002", before.text
        secondary = await post_registry_check(client, patient, coverage_order="secondary")
        assert secondary.status_code == 200, secondary.text
        assert (secondary.json()["payer_id"], secondary.json()["member_hint"]) == ("SBX002", "002S")

        # The old full request still works on the same route.
        full = await post_check(client, {"patient_id": patient, **_full_body()})
        assert full.status_code == 200 and full.json()["registry_revision"] is None, full.text


def _full_body() -> dict[str, Any]:
    return {
        "patient": {"first_name": "Alex", "last_name": "Active", "birth_date": "1980-01-15"},
        "member_id": "SBX10001",
        "payer_id": "SBX001",
        "provider_npi": NPI,
    }


async def test_a_dependent_is_asked_about_under_the_subscriber_on_file(eligibility):
    patient = unique("rdep")
    riley = make_demographics("SBX10001", first_name="Riley", birth_date="2012-04-03", sex="F")
    coverage = make_coverage("SBX10001", relationship_code="19", subscriber=make_demographics("SBX10001"))
    async with eligibility(provider_npi=NPI) as (app, client):
        await register(app, patient, riley, [coverage])
        answered = await post_registry_check(client, patient)
        assert answered.status_code == 200, answered.text
        check = answered.json()
        assert check["status"] == "active" and check["dependent"]["first_name"] == "RILEY"
        # the sandbox's 2100D agrees with the registry's patient: nothing to report
        assert check["registry_discrepancies"] == []
        sent = (await get_raw_x12(client, check["id"]))["x12_270"]
    assert x279_errors(sent) == []
    segs = segments(sent)
    assert ["HL", "3", "2", "22", "1"] in segs and ["HL", "4", "3", "23", "0"] in segs
    assert ["NM1", "IL", "1", "ACTIVE", "ALEX", "", "", "", "MI", "SBX10001"] in segs  # 2100C
    assert ["NM1", "03", "1", "ACTIVE", "RILEY"] in segs  # 2100D
    assert ["DMG", "D8", "20120403", "F"] in segs and ["INS", "N", "19"] in segs


async def test_without_a_coverage_in_force_the_problem_names_patient_id_not_its_value(eligibility):
    unknown, lapsed, orphan = unique("rnone"), unique("rlapsed"), unique("rorphan")
    async with eligibility() as (app, client):
        await register(app, lapsed, make_demographics(), [make_coverage(termination_date="2021-12-31")])
        await register(app, orphan, make_demographics(), [make_coverage(relationship_code="19")])
        no_npi = await post_registry_check(client, lapsed)
        assert no_npi.status_code == 422
        assert [(e["field"], e["rule"]) for e in no_npi.json()["errors"]] == [
            ("body.provider_npi", "missing")
        ]
        for patient, rule in (
            (unknown, "no_registered_coverage"),
            (lapsed, "no_registered_coverage"),
            (orphan, "no_registered_subscriber"),
        ):
            refused = await post_registry_check(client, patient, provider_npi=NPI)
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [("body.patient_id", rule)]
            assert patient not in refused.text
        lapsed_then = await post_registry_check(
            client, lapsed, provider_npi=NPI, date_of_service="2021-06-01"
        )
        assert lapsed_then.status_code == 200, lapsed_then.text
        # a full request's own errors still name its own fields
        bad = await post_check(client, {"patient_id": unknown, **_full_body(), "member_id": "SBX 1*"})
        assert [(e["field"], e["rule"]) for e in bad.json()["errors"]] == [
            ("body.member_id", "member_id_format")
        ]
