"""What a 271 says about who the patient is, and 270 inquiries about a dependent, without servers.

From the 005010X279A1 guide:
- 271 loop 2100C (subscriber) and 2100D (dependent): NM1*IL / NM1*03 name and member id, REF
  additional identification (REF*18 plan number, REF*EJ patient account number, REF*6P group),
  N3/N4 address, DMG birth date and gender, INS relationship;
- loop 2110C/2110D: EB04 insurance type code (plan type, e.g. HM = HMO), MSG free-form text;
- loop 2120C/2120D (inside LS/LE): NM1*P3 the primary care provider, with N3/N4 and PRV;
- 270 loop 2000D/2100D: the patient is a dependent without an id of their own: HL*..*23 under
  the subscriber's HL (whose HL04 is then 1), TRN at 2000D, NM1*03 name, REF*EJ, DMG, INS*N,
  DTP*291, and the EQs in 2110D, not in 2110C.

Our 270s are read back by x12sdk's typed 005010X279A1 models (pyx12 4.0.0, the newest release,
ships no 005010X279A1 map: `tests.conftest.pyx12_errors` raises "Map not found" on any 270).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.eligibility.checks.x12 import Dependent, Inquiry, build_270
from services.eligibility.coverage.domain import VERSION, result_of
from services.eligibility.coverage.x12 import parse_271
from services.eligibility.demographics.domain import demographics_of, mismatches
from shared import x12
from tests.conftest import X12_SAMPLES
from tests.eligibility.helpers import x279_errors

SAMPLES = X12_SAMPLES


def sample(folder: str, name: str) -> str:
    return (SAMPLES / folder / name).read_text()


def make_271(body: list[str]) -> str:
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


def make_inquiry(**changes: object) -> Inquiry:
    values: dict[str, object] = {
        "payer_id": "SBX001",
        "payer_name": "Sandbox Health Plan",
        "provider_npi": "1234567893",
        "provider_name": "Revcycle Clinic",
        "member_id": "SBX10001",
        "first_name": "Alex",
        "last_name": "Active",
        "birth_date": date(1980, 1, 15),
        "date_of_service": date(2026, 3, 1),
        "service_type_codes": ("30", "98"),
        "trace_number": "abc123",
    }
    values.update(changes)
    return Inquiry(**values)  # type: ignore[arg-type]


# --- the public 271 samples -------------------------------------------------------------------


def test_subscriber_sample_271_keeps_name_address_birth_date_pcp_and_plan_type():
    response = parse_271(sample("271_005010X279A1", "subscriber-health-benefit-check.271"))
    sub = response.subscriber
    assert sub is not None and response.dependent is None
    assert (sub.last_name, sub.first_name, sub.member_id) == ("SMITH", "JOHN", "123456789")
    assert (sub.birth_date, sub.gender) == (date(1963, 5, 19), "M")
    assert sub.address is not None
    assert (sub.address.line1, sub.address.line2) == ("15197 BROADWAY AVENUE", "APT 215")
    assert (sub.address.city, sub.address.state, sub.address.postal_code) == ("KANSAS CITY", "MO", "64108")
    pcp = response.primary_care_provider  # EB*L, then 2120C NM1*P3
    assert pcp is not None
    assert (pcp.last_name, pcp.first_name, pcp.id_qualifier, pcp.identifier) == (
        "JONES",
        "MARCUS",
        "SV",
        "0202034",
    )
    # The coverage row (EB*1**30**GOLD 123 PLAN) names no EB04; the plan's other rows say HM.
    assert response.plan_type == "HM"


def test_dependent_sample_271_keeps_the_subscriber_and_the_dependent_apart():
    response = parse_271(sample("271_005010X279A1", "dependent-health-benefit-check.271"))
    sub, dep = response.subscriber, response.dependent
    assert sub is not None and dep is not None
    assert (sub.last_name, sub.first_name, sub.birth_date) == ("SMITH", "JOHN", date(1963, 5, 19))
    assert (dep.last_name, dep.first_name, dep.birth_date, dep.gender) == (
        "SMITH",
        "MARY",
        date(1998, 10, 14),
        "F",
    )
    assert dep.relationship_code == "19" and dep.member_id is None
    assert dep.address is not None and dep.address.postal_code == "64108"
    pcp = response.primary_care_provider
    assert pcp is not None and pcp.last_name == "JONES"


# --- a fuller 271: REF*EJ, REF*18, MSG, a PCP with NPI, address and taxonomy -------------------

HMO_271 = [
    "BHT*0022*11*T1*20260105*1200",
    "HL*1**20*1",
    "NM1*PR*2*SANDBOX HEALTH PLAN*****PI*SBX001",
    "HL*2*1*21*1",
    "NM1*1P*2*CLINIC*****XX*1234567893",
    "HL*3*2*22*0",
    "TRN*2*T1*9REVCYCLE",
    "NM1*IL*1*HMO*HOLLIS*Q**JR*MI*SBX10003",
    "REF*18*HMO3001*SANDBOX HMO SELECT",
    "REF*EJ*PAT-1001",
    "N3*42 ELM ST*APT 3",
    "N4*SPRINGFIELD*IL*627040042",
    "DMG*D8*19790704*M",
    "INS*Y*18*001*25",
    "DTP*346*D8*20240101",
    "EB*1**30*HM*SANDBOX HMO SELECT",
    "REF*6P*GRP3001",
    "MSG*REFERRAL FROM THE PRIMARY CARE PROVIDER REQUIRED FOR SPECIALIST VISITS",
    "EB*L",
    "LS*2120",
    "NM1*P3*1*WELBY*MARCUS****XX*1245319599",
    "N3*9 CLINIC RD",
    "N4*SPRINGFIELD*IL*62702",
    "PRV*PC*PXC*207Q00000X",
    "LE*2120",
    "EB*B**98*HM**27*15*****Y",
]


def test_fuller_271_keeps_ref_ej_plan_number_messages_and_the_pcp_with_npi_and_taxonomy():
    response = parse_271(make_271(HMO_271))
    assert response.patient_account_number == "PAT-1001"
    assert response.plan_number == "HMO3001" and response.group_number == "GRP3001"
    assert response.plan_type == "HM"
    assert response.plan_messages == [
        "REFERRAL FROM THE PRIMARY CARE PROVIDER REQUIRED FOR SPECIALIST VISITS"
    ]
    sub = response.subscriber
    assert sub is not None
    assert (sub.middle_name, sub.name_suffix, sub.relationship_code) == ("Q", "JR", "18")
    assert sub.references == {"18": "HMO3001", "EJ": "PAT-1001"}
    # The PCP's N3/N4 are the PCP's, not the subscriber's.
    assert sub.address is not None and (sub.address.line1, sub.address.postal_code) == (
        "42 ELM ST",
        "627040042",
    )
    pcp = response.primary_care_provider
    assert pcp is not None
    assert (pcp.entity_code, pcp.id_qualifier, pcp.identifier) == ("P3", "XX", "1245319599")
    assert (pcp.provider_code, pcp.taxonomy) == ("PC", "207Q00000X")
    assert pcp.address is not None and (pcp.address.line1, pcp.address.city) == ("9 CLINIC RD", "SPRINGFIELD")


def test_a_birth_date_that_is_no_date_is_a_warning_not_a_lost_answer():
    response = parse_271(make_271([line.replace("DMG*D8*19790704", "DMG*D8*19791304") for line in HMO_271]))
    assert response.status == "active" and response.subscriber is not None
    assert response.subscriber.birth_date is None
    assert response.warnings == ["not a CCYYMMDD date (segment 16, DMG02)"]


def test_a_subscribers_pcp_is_not_the_dependents():
    """2120C under the subscriber, then a 2000D: the dependent has no PCP of their own."""
    body = [line for line in HMO_271 if not line.startswith("EB*B")] + [
        "HL*4*3*23*0",
        "NM1*03*1*HMO*ROBIN",
        "DMG*D8*20120403*F",
        "INS*N*19",
        "EB*1**30*HM*SANDBOX HMO SELECT",
    ]
    body[5] = "HL*3*2*22*1"
    response = parse_271(make_271(body))
    assert response.dependent is not None and response.dependent.first_name == "ROBIN"
    assert response.primary_care_provider is None
    assert response.patient_account_number is None  # the subscriber's REF*EJ is not the dependent's


def test_plan_type_is_shown_in_clear_and_demographics_are_kept_apart_to_be_sealed():
    response = parse_271(make_271(HMO_271))
    result = result_of(response, ["30", "98"])
    assert result["plan_type"] == {"code": "HM", "description": "Health Maintenance Organization (HMO)"}
    assert result["plan_number"] == "HMO3001"
    assert result["plan_messages"] == response.plan_messages
    stored = json.dumps(result).upper()
    for phi in ("HOLLIS", "ELM ST", "1979", "PAT-1001", "WELBY", "SBX10003"):
        assert phi not in stored, phi  # checks.result is stored in clear
    sealed = demographics_of(response)
    assert sealed["subscriber"]["first_name"] == "HOLLIS"
    assert sealed["subscriber"]["birth_date"] == "1979-07-04"
    assert sealed["subscriber"]["address"]["line2"] == "APT 3"
    assert sealed["primary_care_provider"]["identifier"] == "1245319599"
    assert sealed["patient_account_number"] == "PAT-1001"
    assert sealed["dependent"] is None


def test_what_differs_between_the_request_and_the_payers_answer_is_named_not_quoted():
    response = parse_271(make_271(HMO_271))
    sent = {"member_id": "SBX10003", "first_name": "Hollis", "last_name": "Hmo", "birth_date": "1979-07-05"}
    assert mismatches(sent, demographics_of(response)) == ["patient.birth_date"]
    sent = {**sent, "birth_date": "1979-07-04", "last_name": "Hommo", "member_id": "SBX10033"}
    assert mismatches(sent, demographics_of(response)) == ["member_id", "patient.last_name"]


# --- 270s about a dependent (loop 2000D/2100D) ------------------------------------------------


def test_public_sample_270s_validate_with_the_x279a1_models():
    for name in ("subscriber-health-benefit-check.270", "dependent-health-benefit-check.270"):
        assert x279_errors(sample("270_005010X279A1", name)) == [], name


def test_a_270_about_a_dependent_asks_in_loop_2000d_and_validates():
    inquiry = make_inquiry(
        patient_account="PAT-1001",
        dependent=Dependent(
            first_name="Robin",
            last_name="Active",
            birth_date=date(2012, 4, 3),
            gender="F",
            relationship_code="19",
        ),
    )
    text = build_270(inquiry, sender_id="REVCYCLE", control_number=7, now=datetime(2026, 3, 1, 9, 30))
    assert x279_errors(text) == []
    segments = [s.split("~")[0] for s in text.split("\n") if s]
    start = segments.index("HL*3*2*22*1")  # the subscriber has a child HL
    assert segments[start : start + 12] == [
        "HL*3*2*22*1",
        "NM1*IL*1*ACTIVE*ALEX****MI*SBX10001",  # 2100C: the subscriber's id (no TRN, DMG or EQ here)
        "HL*4*3*23*0",
        "TRN*1*abc123*90REVCYCLE",
        "NM1*03*1*ACTIVE*ROBIN",  # 2100D: the patient; NM108/NM109 are not used
        "REF*EJ*PAT-1001",
        "DMG*D8*20120403*F",
        "INS*N*19",
        "DTP*291*D8*20260301",
        "EQ*30",  # 2110D
        "EQ*98",
        "SE*18*0001",
    ]


def test_a_270_about_the_subscriber_carries_the_patient_account_number_and_validates():
    text = build_270(
        make_inquiry(patient_account="PAT-1001"),
        sender_id="REVCYCLE",
        control_number=8,
        now=datetime(2026, 3, 1),
    )
    assert x279_errors(text) == []
    assert (
        "HL*3*2*22*0~\nTRN*1*abc123*90REVCYCLE~\nNM1*IL*1*ACTIVE*ALEX****MI*SBX10001~\nREF*EJ*PAT-1001~\n"
        in text
    )
    # REF02 is at most 50 characters: a longer account id is not sent rather than cut.
    long = build_270(
        make_inquiry(patient_account="P" * 51),
        sender_id="REVCYCLE",
        control_number=9,
        now=datetime(2026, 3, 1),
    )
    assert "REF*EJ" not in long and x279_errors(long) == []
    # Nor one holding a delimiter (":" is the component separator): the echo must match it.
    colon = build_270(
        make_inquiry(patient_account="PAT:1"),
        sender_id="REVCYCLE",
        control_number=10,
        now=datetime(2026, 3, 1),
    )
    assert "REF*EJ" not in colon and x279_errors(colon) == []


# --- every 271 the payer sandbox writes, through our reader --------------------------------


def _sandbox_271(member_id: str, dependent: dict[str, Any] | None = None) -> str:
    from deploy.payer_sandbox import eligibility as payer
    from deploy.payer_sandbox.data import default_tables

    asked = None
    if dependent is not None:
        asked = Dependent(
            first_name=dependent["first_name"],
            last_name=dependent["last_name"],
            birth_date=date.fromisoformat(dependent["birth_date"]),
            relationship_code=dependent["relationship"],
        )
    text = build_270(
        make_inquiry(
            member_id=member_id, patient_account="PAT-9", dependent=asked, date_of_service=date(2026, 11, 20)
        ),
        sender_id="REVCYCLE",
        control_number=11,
        now=datetime(2026, 11, 20, 9, 0),
    )
    now = datetime(2026, 11, 20, 9, 0)
    answer = payer.answer(
        payer.parse_270(text), default_tables(), today=now.date(), now=now, control_number=5
    )
    assert answer.body is not None
    return answer.body


def _assert_person(shown: Any, table: dict[str, Any]) -> None:
    assert shown is not None
    assert (shown.last_name, shown.first_name) == (table["last_name"], table["first_name"])
    assert shown.birth_date == date.fromisoformat(table["birth_date"])
    assert shown.gender == (table["gender"] if table["gender"] in ("F", "M") else None)


def test_every_sandbox_271_gives_the_people_of_its_scenario_table():
    members = json.loads(
        (Path(__file__).resolve().parents[2] / "deploy/payer_sandbox/data/scenarios.json").read_text()
    )["members"]
    seen_dependents = 0
    for member_id, member in members.items():
        if member["expected"]["outcome"] not in ("active", "inactive"):
            continue
        response = parse_271(_sandbox_271(member_id))
        _assert_person(response.subscriber, member["subscriber"])
        address = member["subscriber"]["address"]
        assert response.subscriber is not None and response.subscriber.address is not None
        assert (response.subscriber.address.line1, response.subscriber.address.postal_code) == (
            address["line1"],
            address["postal_code"],
        ), member_id
        assert response.subscriber.member_id == member_id
        assert response.patient_account_number == "PAT-9"
        assert response.plan_type == member["plan"]["insurance_type"]
        assert response.plan_number == member["plan"].get("plan_number")
        pcp = member.get("primary_care_provider")
        shown = response.primary_care_provider
        assert (shown.identifier if shown else None) == (pcp["npi"] if pcp else None), member_id
        for dependent in member.get("dependents", []):
            seen_dependents += 1
            answer = parse_271(_sandbox_271(member_id, dependent))
            _assert_person(answer.dependent, dependent)
            assert (
                answer.dependent is not None
                and answer.dependent.relationship_code == dependent["relationship"]
            )
            _assert_person(answer.subscriber, member["subscriber"])
            assert answer.patient_account_number == "PAT-9" and answer.primary_care_provider is None
            assert answer.status == response.status and answer.benefits
    assert seen_dependents >= 3
