"""Coverage checks show who the payer says the patient is, and ask about dependents (the
service in-process against real PostgreSQL and Kafka, the payer sandbox over real HTTP).

Staff correct demographics from what the 271 returned (005010X279A1 loop 2100C/2100D NM1,
N3, N4, DMG, INS, REF*EJ; the plan type from EB04 and REF*18; the primary care provider from
2120C NM1*P3/PRV). That is PHI: shown by the API, kept only sealed (never in `checks.result`,
which is stored in clear, nor in events). A patient who is a dependent without their own id
is asked about in loop 2000D/2100D (`dependent` in the request).

Expected values come from the sandbox's scenario table (deploy/payer_sandbox/data/
scenarios.json).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.conftest import token, unique
from tests.eligibility.helpers import MEMBERS, READ, WRITE, make_check_body, post_check

X12 = token("eligibility:x12")

# A birth date in the future but inside the dates the platform stores (1900..2100; a date
# beyond them is refused by the input guard before this rule runs).
NEXT_YEAR = (date.today() + timedelta(days=366)).isoformat()


def person_of(member: dict[str, Any]) -> dict[str, Any]:
    """The subscriber block the API should show for a table member."""
    sub = member["subscriber"]
    address = sub["address"]
    return {
        "last_name": sub["last_name"],
        "first_name": sub["first_name"],
        "middle_name": None,
        "name_suffix": None,
        "member_id": None,  # filled by the caller
        "birth_date": sub["birth_date"],
        "gender": sub["gender"] if sub["gender"] in ("F", "M") else None,
        "relationship_code": None,
        "address": {
            "line1": address["line1"],
            "line2": address.get("line2") or None,
            "city": address["city"],
            "state": address["state"],
            "postal_code": address["postal_code"],
        },
    }


def make_dependent(member_id: str, n: int = 0) -> dict[str, Any]:
    dep = MEMBERS[member_id]["dependents"][n]
    relationship = {"01": "spouse", "19": "child", "34": "other_adult"}[dep["relationship"]]
    return {
        "first_name": dep["first_name"].title(),
        "last_name": dep["last_name"].title(),
        "birth_date": dep["birth_date"],
        "gender": dep["gender"],
        "relationship": relationship,
    }


def patient_of(member_id: str) -> dict[str, Any]:
    sub = MEMBERS[member_id]["subscriber"]
    return {
        "first_name": sub["first_name"].title(),
        "last_name": sub["last_name"].title(),
        "birth_date": sub["birth_date"],
    }


async def test_a_check_shows_the_payers_demographics_plan_type_and_pcp_sealed_at_rest(
    eligibility, sandbox, admin
):
    member = MEMBERS["SBX10003"]
    patient_id = unique("pat")
    async with eligibility() as (_, client):
        body = make_check_body("SBX10003", patient_id=patient_id)  # sends JANE DOE 1980-01-15
        response = await post_check(client, body, {**WRITE, "Cache-Control": "no-cache"})
        assert response.status_code == 200, response.text
        check = response.json()
        again = (await client.get(f"/v1/eligibility/checks/{check['id']}", headers=READ)).json()
    assert check["status"] == "active"
    expected = {**person_of(member), "member_id": "SBX10003"}
    assert check["subscriber"] == expected
    assert check["dependent"] is None
    assert check["patient_account_number"] == patient_id  # REF*EJ sent in the 270, echoed in the 271
    assert check["plan_type"] == {"code": "HM", "description": "Health Maintenance Organization (HMO)"}
    assert check["plan_number"] == member["plan"]["plan_number"]
    assert check["plan_messages"] == member["plan"]["messages"]
    pcp = member["primary_care_provider"]
    assert check["primary_care_provider"] == {
        "entity_code": "P3",
        "last_name": pcp["last_name"],
        "first_name": pcp["first_name"],
        "id_qualifier": "XX",
        "identifier": pcp["npi"],
        "provider_code": "PC",
        "taxonomy": pcp["taxonomy"],
        "address": None,
    }
    # What staff should correct: named, never quoted.
    assert check["demographics_mismatches"] == [
        "patient.first_name",
        "patient.last_name",
        "patient.birth_date",
    ]
    for key in ("subscriber", "primary_care_provider", "patient_account_number", "demographics_mismatches"):
        assert again[key] == check[key], key
    row = await admin.fetchrow(
        "SELECT result::text AS result, demographics_enc FROM eligibility.checks WHERE id = $1::uuid",
        check["id"],
    )
    for phi in (member["subscriber"]["last_name"], member["subscriber"]["address"]["line1"], patient_id):
        assert phi not in row["result"], phi
        assert phi.encode() not in bytes(row["demographics_enc"]), phi


async def test_a_cache_hit_shows_the_demographics_and_its_own_mismatches(eligibility, sandbox):
    dos = (date.today() - timedelta(days=5)).isoformat()
    async with eligibility() as (_, client):
        first = await post_check(
            client, make_check_body("SBX10003", date_of_service=dos, patient=patient_of("SBX10003"))
        )
        assert first.json()["demographics_mismatches"] == []
        hit = (await post_check(client, make_check_body("SBX10003", date_of_service=dos))).json()
    assert hit["cached"] is True
    assert hit["subscriber"] == first.json()["subscriber"]
    assert hit["demographics_mismatches"] == ["patient.first_name", "patient.last_name", "patient.birth_date"]


async def test_a_dependent_check_asks_in_loop_2000d_and_shows_both_people(eligibility, sandbox):
    dos = (date.today() - timedelta(days=6)).isoformat()
    dependent = make_dependent("SBX10001")
    async with eligibility() as (_, client):
        body = make_check_body(
            "SBX10001", date_of_service=dos, patient=patient_of("SBX10001"), dependent=dependent
        )
        response = await post_check(client, body)
        assert response.status_code == 200, response.text
        check = response.json()
        raw = (await client.get(check["links"]["x12"], headers=X12)).json()
        # Same member, payer, service types and date, but the subscriber: another question.
        subscriber = await post_check(
            client, make_check_body("SBX10001", date_of_service=dos, patient=patient_of("SBX10001"))
        )
        repeat = await post_check(client, body)
    assert "HL*3*2*22*1~" in raw["x12_270"] and "HL*4*3*23*0~" in raw["x12_270"]
    assert f"NM1*03*1*{dependent['last_name'].upper()}*{dependent['first_name'].upper()}~" in raw["x12_270"]
    assert "INS*N*19~" in raw["x12_270"]
    assert check["status"] == "active"
    table = MEMBERS["SBX10001"]["dependents"][0]
    shown = check["dependent"]
    assert (shown["first_name"], shown["last_name"], shown["birth_date"], shown["gender"]) == (
        table["first_name"],
        table["last_name"],
        table["birth_date"],
        table["gender"],
    )
    assert shown["relationship_code"] == table["relationship"] and shown["member_id"] is None
    assert check["subscriber"]["first_name"] == MEMBERS["SBX10001"]["subscriber"]["first_name"]
    assert check["subscriber"]["member_id"] == "SBX10001"
    assert check["demographics_mismatches"] == []
    assert check["benefits"]  # the dependent's benefits (2110D)
    assert subscriber.json()["cached"] is False and subscriber.json()["dependent"] is None
    assert repeat.json()["cached"] is True and repeat.json()["dependent"] == shown


async def test_a_dependent_the_payer_does_not_know_is_a_rejection_at_the_dependent_level(
    eligibility, sandbox
):
    stranger = {
        "first_name": "Nobody",
        "last_name": "Active",
        "birth_date": "2001-01-01",
        "relationship": "child",
    }
    async with eligibility() as (_, client):
        check = (await post_check(client, make_check_body("SBX10001", dependent=stranger))).json()
    assert check["status"] == "error"
    [rejection] = check["rejections"]
    assert (rejection["level"], rejection["reason_code"], rejection["follow_up_code"]) == (
        "dependent",
        "67",
        "C",
    )
    assert check["dependent"]["first_name"] == "NOBODY"


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"relationship": "cousin"}, "body.dependent.relationship", "literal_error"),
        ({"birth_date": NEXT_YEAR}, "body.dependent.birth_date", "date_in_future"),
        ({"gender": "X"}, "body.dependent.gender", "literal_error"),
    ],
)
async def test_bad_dependent_input_is_a_422_naming_the_field(eligibility, sandbox, change, field, rule):
    dependent = {**make_dependent("SBX10001"), **change}
    async with eligibility() as (_, client):
        response = await post_check(client, make_check_body("SBX10001", dependent=dependent))
    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(field, rule)]
