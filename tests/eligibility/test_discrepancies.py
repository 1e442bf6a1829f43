"""A 271 that disagrees with the registry copy a check was built from publishes ONE
eligibility.discrepancy_found (through the outbox, in the check's transaction) with both values.

What the 005010X279A1 guide says the 271 carries, and so what the expectations read:
- loop 2100C (subscriber, the patient when relationship 18) / 2100D (dependent): NM103 last
  name, NM104 first name, N3/N4 address, DMG01 D8 + DMG02 the birth date as CCYYMMDD, DMG03 sex;
- 2100C NM109 the member id; a payer that corrects it returns the right id there and the one
  it was sent in REF*Q4 (prior identifier number);
- loop 2110C EB01 R "other or additional payer" with, inside LS/LE, loop 2120C NM1 (PRP
  primary, SEP secondary, TTP tertiary payer; NM108 PI, NM109 the payer's id).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from services.eligibility.checks.schemas import RegistryCheckIn
from services.eligibility.coverage.domain import VERSION, result_of
from services.eligibility.coverage.x12 import parse_271
from services.eligibility.discrepancies.domain import disagreements, discrepancy_of
from services.eligibility.registry.domain import Copy, check_of
from shared import x12
from tests.conftest import end_offsets, eventually, read_from, unique
from tests.eligibility.helpers import (
    NPI,
    WRITE,
    get_raw_x12,
    make_coverage,
    make_coverage_updated,
    make_demographics,
    make_patient_updated,
    post_registry_check,
)
from tests.eligibility.test_registry_checks import segments
from tests.eligibility.test_registry_copy import copy_of, publish

TOPIC = "eligibility.discrepancy_found"

# --- the comparison, on 271s written from the guide ------------------------------------------


def make_271(people: list[str], eligibility: list[str]) -> str:
    """A 271 from one payer (2100A), provider (2100B) and the given 2000C/2000D loops."""
    body = [
        "BHT*0022*11*abc*20260105*1200",
        "HL*1**20*1",
        "NM1*PR*2*SANDBOX HEALTH PLAN*****PI*SBX001",
        "HL*2*1*21*1",
        "NM1*1P*2*REVCYCLE CLINIC*****XX*1234567893",
        *people,
        *eligibility,
    ]
    return x12.build(
        [[line.split("*") for line in body]],
        transaction_code="271",
        functional_id="HB",
        version=VERSION,
        sender_id="SBX001",
        receiver_id="REVCYCLE",
        control_number=9,
        now=datetime(2026, 1, 5, 12, 0),
    )


SUBSCRIBER_2100C = [
    "HL*3*2*22*0",
    "TRN*2*abc*9REVCYCLE",
    "NM1*IL*1*ACTIVE*ALEX****MI*SBX10001",
    "N3*1 MAIN ST",
    "N4*SPRINGFIELD*IL*627011234",
    "DMG*D8*19800115*F",
]
ACTIVE_2110C = ["EB*1*IND*30*PR*SANDBOX PPO GOLD"]


def snapshot_for(person: Any, coverages: list[Any], revision: int = 7) -> dict[str, Any]:
    """The snapshot a registry check seals (registry.domain.check_of, the real path)."""
    copy = Copy(revision, person.model_dump(mode="json"), [c.model_dump(mode="json") for c in coverages])
    _, snapshot = check_of(copy, RegistryCheckIn(patient_id="p-1", date_of_service=date(2026, 1, 5)), NPI)
    return snapshot


def compare(snapshot: dict[str, Any], text: str) -> list[dict[str, Any]]:
    response = parse_271(text)
    other_payers = result_of(response, ["30"])["other_payers"]
    found = disagreements(snapshot, response.demographics.as_dict(), other_payers)
    return [f.model_dump(mode="json", exclude_none=True) for f in found]


def test_trivially_equal_values_are_no_discrepancy():
    """Case, runs of white space and ZIP+4 against ZIP5 (2100C N4*..*627011234)."""
    person = make_demographics(
        first_name="alex",
        last_name=" Active",
        address={"line1": "1  Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"},
    )
    snapshot = snapshot_for(person, [make_coverage(member_id="sbx10001")])
    assert compare(snapshot, make_271(SUBSCRIBER_2100C, ACTIVE_2110C)) == []


def test_2100c_names_birth_date_sex_and_address_against_the_registry_patient():
    person = make_demographics(
        first_name="Alexis",
        last_name="Actif",
        birth_date="1980-01-16",
        sex="M",
        address={"line1": "2 ELM ST", "city": "URBANA", "state": "IL", "postal_code": "61801"},
    )
    found = compare(snapshot_for(person, [make_coverage()]), make_271(SUBSCRIBER_2100C, ACTIVE_2110C))
    assert found == [
        {"field": "first_name", "registry_value": "Alexis", "payer_value": "ALEX"},
        {"field": "last_name", "registry_value": "Actif", "payer_value": "ACTIVE"},
        {"field": "birth_date", "registry_value": "1980-01-16", "payer_value": "1980-01-15"},
        {"field": "sex", "registry_value": "M", "payer_value": "F"},
        {
            "field": "address",
            "registry_value": "2 ELM ST, URBANA, IL 61801",
            "payer_value": "1 MAIN ST, SPRINGFIELD, IL 627011234",
        },
    ]


def test_a_member_id_the_payer_corrects_in_nm109_with_the_sent_one_in_ref_q4():
    coverage = make_coverage(member_id="SBX10009")
    corrected = [*SUBSCRIBER_2100C[:3], "REF*Q4*SBX10009", *SUBSCRIBER_2100C[3:]]
    found = compare(snapshot_for(make_demographics(), [coverage]), make_271(corrected, ACTIVE_2110C))
    assert found == [
        {
            "field": "member_id",
            "registry_value": "SBX10009",
            "payer_value": "SBX10001",
            "coverage_id": str(coverage.coverage_id),
        }
    ]


def test_other_payers_in_2120c_that_the_registry_lacks():
    other = [
        "EB*R**30",
        "LS*2120",
        "NM1*PRP*2*OTHER MUTUAL*****PI*OTH001",
        "LE*2120",
        "EB*R**30",
        "LS*2120",
        "NM1*TTP*2*SANDBOX MUTUAL*****PI*SBX002",
        "LE*2120",
    ]
    text = make_271(SUBSCRIBER_2100C, ACTIVE_2110C + other)
    on_file = [make_coverage(), make_coverage("SBX40002S", order="secondary")]  # SBX002 is on file
    found = compare(snapshot_for(make_demographics(), on_file), text)
    assert found == [{"field": "other_payer", "payer_value": "OTHER MUTUAL primary", "payer_id": "OTH001"}]


def test_a_dependent_is_compared_in_2100d_not_with_the_subscriber():
    riley = make_demographics(first_name="Riley", birth_date="2012-04-03", sex="F")
    coverage = make_coverage(relationship_code="19", subscriber=make_demographics())
    dependent = [
        "HL*3*2*22*1",
        "NM1*IL*1*ACTIVE*ALEX****MI*SBX10001",
        "HL*4*3*23*0",
        "TRN*2*abc*9REVCYCLE",
        "NM1*03*1*ACTIVE*RILEY",
        "N3*1 MAIN ST",
        "N4*SPRINGFIELD*IL*62701",
        "DMG*D8*20120405*F",
        "INS*N*19",
    ]
    snapshot = snapshot_for(riley, [coverage])
    found = compare(snapshot, make_271(dependent, ACTIVE_2110C))
    assert found == [{"field": "birth_date", "registry_value": "2012-04-03", "payer_value": "2012-04-05"}]
    event = discrepancy_of(
        uuid.uuid4(),
        "p-1",
        snapshot,
        parse_271(make_271(dependent, [])).demographics.as_dict(),
        [],
        datetime.now(UTC),
    )
    assert event is not None and event.registry_revision == 7 and event.payer_id == "SBX001"


# --- the story: a registered patient, a check with only an id and a date, the event on Kafka ---


def dmg02_in_2100c(text: str) -> date:
    """DMG02 of loop 2100C (the segments after HL*..*22 and NM1*IL, before the first EB),
    read as the guide says: DMG01 D8, DMG02 CCYYMMDD."""
    in_2100c = False
    for seg in segments(text):
        if seg[0] == "HL":
            in_2100c = seg[3] == "22"
        elif seg[0] == "EB":
            in_2100c = False
        elif in_2100c and seg[0] == "DMG":
            assert seg[1] == "D8"
            return datetime.strptime(seg[2], "%Y%m%d").date()
    raise AssertionError("the 271 has no DMG in loop 2100C")


async def register(producer: Any, app: Any, patient_id: str, person: Any) -> None:
    """Register the patient as the front office does: its two events on Kafka, then wait until
    eligibility's consumer has made the copy."""
    await publish(producer, make_patient_updated(patient_id, 1, person))
    await publish(producer, make_coverage_updated(patient_id, 2, [make_coverage("SBX10001")]))

    async def kept() -> bool:
        copy = await copy_of(app, patient_id)
        return copy is not None and copy.revision == 2 and copy.patient is not None

    await eventually(kept, timeout=30, what="the registry copy")


async def staged(admin: Any, patient_id: str) -> int:
    return await admin.fetchval(
        "SELECT count(*) FROM eligibility.outbox WHERE event_type = $1 AND event_key = $2",
        f"{TOPIC}.v1",
        patient_id,
    )


async def test_a_271_with_another_birth_date_publishes_one_discrepancy(eligibility, producer, servers, admin):
    patient = unique("disc")
    registered = date(1979, 11, 30)
    start = await end_offsets(servers.kafka_bootstrap, TOPIC)
    async with eligibility(provider_npi=NPI) as (app, client):
        await register(producer, app, patient, make_demographics("SBX10001", birth_date=registered))
        answered = await post_registry_check(client, patient)
        assert answered.status_code == 200, answered.text
        check = answered.json()
        assert check["registry_revision"] == 2 and check["registry_discrepancies"] == ["birth_date"]
        payer_says = dmg02_in_2100c((await get_raw_x12(client, check["id"]))["x12_271"])
        assert payer_says != registered
        records = await read_from(
            servers.kafka_bootstrap, TOPIC, start, until=lambda rs: any(r.key == patient.encode() for r in rs)
        )
    event = json.loads(next(r for r in records if r.key == patient.encode()).value)
    assert (event["check_id"], event["patient_id"], event["payer_id"]) == (check["id"], patient, "SBX001")
    assert event["registry_revision"] == 2
    assert event["fields"] == [
        {
            "field": "birth_date",
            "registry_value": registered.isoformat(),
            "payer_value": payer_says.isoformat(),
            "coverage_id": None,
            "payer_id": None,
        }
    ]
    assert await staged(admin, patient) == 1  # one event for the whole disagreement set


async def test_a_271_that_agrees_publishes_nothing(eligibility, producer, admin):
    patient = unique("agree")
    async with eligibility(provider_npi=NPI) as (app, client):
        await register(producer, app, patient, make_demographics("SBX10001"))
        answered = await post_registry_check(client, patient)
        assert answered.status_code == 200, answered.text
        check = answered.json()
        payer_says = dmg02_in_2100c((await get_raw_x12(client, check["id"]))["x12_271"])
    assert payer_says == make_demographics("SBX10001").birth_date  # the registry's, as the table has it
    assert check["registry_revision"] == 2 and check["registry_discrepancies"] == []
    assert await staged(admin, patient) == 0


async def test_an_answer_reused_from_the_cache_is_compared_too(eligibility, producer, admin):
    """A registry check whose question (member, payer, service types, date) was answered inside
    the payer's cache TTL reuses that 271's people and is compared with its own snapshot."""
    patient = unique("cached")
    registered = date(1979, 11, 30)
    async with eligibility(provider_npi=NPI) as (app, client):
        await register(producer, app, patient, make_demographics("SBX10001", birth_date=registered))
        first = await post_registry_check(client, patient)
        assert first.status_code == 200 and not first.json()["cached"], first.text
        again = await client.post(
            "/v1/eligibility/checks",
            json={"patient_id": patient, "date_of_service": date.today().isoformat()},
            headers=WRITE,
        )
        assert again.status_code == 200, again.text
    reused = again.json()
    assert reused["cached"] and reused["registry_discrepancies"] == ["birth_date"]
    assert await staged(admin, patient) == 2  # one per check


# --- the public 271 sample (../shared/samples/x12), read through the same comparison ---------


def test_the_public_subscriber_271_agrees_with_a_registry_that_holds_what_it_says():
    """subscriber-health-benefit-check.271 (005010X279A1): 2100C NM1*IL SMITH JOHN, NM109
    123456789, N3/N4 15197 BROADWAY AVENUE APT 215 KANSAS CITY MO, DMG*D8*19630519*M. A registry
    holding the same (in its own case and spacing) finds nothing; one birth date apart finds
    exactly that field, with the sample's DMG02 as the payer's value."""
    from tests.eligibility.test_271_demographics import sample

    text = sample("271_005010X279A1", "subscriber-health-benefit-check.271")
    address = {
        "line1": "15197 Broadway Avenue",
        "line2": "Apt 215",
        "city": "Kansas City",
        "state": "MO",
        "postal_code": "64108",
    }
    same = make_demographics(
        first_name="John", last_name="Smith", birth_date="1963-05-19", sex="M", address=address
    )
    coverage = [make_coverage(member_id="123456789")]
    assert compare(snapshot_for(same, coverage), text) == []
    apart = make_demographics(
        first_name="John", last_name="Smith", birth_date="1963-05-20", sex="M", address=address
    )
    assert compare(snapshot_for(apart, coverage), text) == [
        {"field": "birth_date", "registry_value": "1963-05-20", "payer_value": "1963-05-19"}
    ]
