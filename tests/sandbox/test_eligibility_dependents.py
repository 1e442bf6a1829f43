"""Payer sandbox, eligibility: what a payer following the 005010X279A1 guide returns about who
the patient is, and inquiries about a dependent, over real HTTP.

- A dependent without an id of their own is asked about in the 270's loop 2000D/2100D and
  answered in the 271's 2000D/2100D/2110D: NM1*03 with N3/N4, DMG and INS*N (relationship),
  their benefits in 2110D; 2100C names the subscriber and carries no benefits.
- A dependent the payer cannot find: AAA in loop 2100D (AAA03 67, patient not found).
- 2100C carries the subscriber's address (N3/N4) and echoes REF*EJ (patient account number)
  from the 270; an HMO reports its plan number (REF*18), EB04 = HM, MSG text, and the primary
  care provider (EB*L, then 2120C NM1*P3 with PRV).

Every 271 is read by x12sdk's typed 005010X279A1 models.
"""

from __future__ import annotations

from typing import Any

import httpx
import pydantic
import pytest
from x12sdk.io import X12ModelReader, X12SegmentReader

from deploy.payer_sandbox.data import scenario_table
from deploy.payer_sandbox.testing import SampleDependent, running_sandbox, sample_270
from tests.eligibility.helpers import x279_errors

TABLE = scenario_table()
MEMBERS: dict[str, dict[str, Any]] = TABLE["members"]
DOS = "20261120"


@pytest.fixture
async def sandbox() -> Any:
    async with running_sandbox() as handle:
        yield handle


async def ask(sandbox: Any, body: str) -> str:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        response = await client.post(
            "/x12/270", content=body, headers={"content-type": "application/edi-x12"}
        )
    assert response.status_code == 200, response.text
    return response.text


def model_of(text: str) -> Any:
    assert x279_errors(text) == []
    with X12ModelReader(text) as reader:
        [model] = list(reader.models())
    return model


def segments(text: str) -> list[list[str]]:
    with X12SegmentReader(text) as reader:
        return [fields for _name, fields in reader.segments()]


def dependent_of(member_id: str, n: int = 0) -> dict[str, Any]:
    return MEMBERS[member_id]["dependents"][n]


async def test_a_dependent_on_file_is_answered_in_loop_2000d(sandbox: Any) -> None:
    dep = dependent_of("SBX10001")
    body = sample_270(
        "SBX10001",
        date_of_service=DOS,
        service_types=("30", "98"),
        dependent=SampleDependent(dep["first_name"], dep["last_name"], dep["birth_date"].replace("-", "")),
    )
    assert x279_errors(body) == []
    model = model_of(await ask(sandbox, body))
    subscriber = model.loop_2000a[0].loop_2000b[0].loop_2000c[0]
    assert subscriber.hl_segment.hierarchical_child_code == "1"
    assert subscriber.loop_2100c.nm1_segment.identification_code == "SBX10001"
    assert not subscriber.loop_2100c.loop_2110c  # the subscriber is not the patient
    [dependent] = subscriber.loop_2000d
    name = dependent.loop_2100d
    assert (name.nm1_segment.name_last_or_organization_name, name.nm1_segment.name_first) == (
        dep["last_name"],
        dep["first_name"],
    )
    assert name.dmg_segment.date_time_period.isoformat() == dep["birth_date"]
    assert name.dmg_segment.gender_code == dep["gender"]
    assert name.ins_segment.individual_relationship_code == dep["relationship"]
    address = MEMBERS["SBX10001"]["subscriber"]["address"]
    assert name.n4_segment.postal_code == address["postal_code"]
    assert dependent.trn_segment[0].reference_identification_1 == "TRACE0001"  # the 270's trace, at 2000D
    ebs = [item.eb_segment for item in name.loop_2110d]
    assert ebs[0].eligibility_benefit_information == "1"
    assert ebs[0].plan_coverage_description == MEMBERS["SBX10001"]["plan"]["name"]
    copays = {
        e.service_type_code[0]: str(e.benefit_amount) for e in ebs if e.eligibility_benefit_information == "B"
    }
    assert copays["98"].rstrip("0").rstrip(".") == MEMBERS["SBX10001"]["benefits"]["in_network"]["copays"][
        "98"
    ].rstrip("0").rstrip(".")


async def test_a_dependent_not_on_file_is_aaa_67_in_loop_2100d(sandbox: Any) -> None:
    body = sample_270(
        "SBX10001", date_of_service=DOS, dependent=SampleDependent("NOBODY", "ACTIVE", "20000101")
    )
    text = await ask(sandbox, body)
    seen = segments(text)
    hls = [i for i, fields in enumerate(seen) if fields[0] == "HL"]
    assert [seen[i][3] for i in hls] == ["20", "21", "22", "23"]
    dependent_loop = [fields[:5] for fields in seen[hls[3] :]]
    assert ["NM1", "03", "1", "ACTIVE", "NOBODY"] in dependent_loop  # the name asked about, echoed
    assert [f[1:5] for f in dependent_loop if f[0] == "AAA"] == [["Y", "", "67", "C"]]
    assert not [fields for fields in seen if fields[0] == "EB"]
    # x12sdk models 2100D's AAA with 2100B's code list (no 67): that is its only complaint.
    with pytest.raises(pydantic.ValidationError) as exc:
        with X12ModelReader(text) as reader:
            list(reader.models())
    assert {e["loc"][-3:] for e in exc.value.errors()} == {("aaa_segment", 0, "reject_reason_code")}


async def test_2100c_carries_the_address_and_echoes_the_patient_account_number(sandbox: Any) -> None:
    body = sample_270("SBX10001", date_of_service=DOS, patient_account="PAT-77")
    model = model_of(await ask(sandbox, body))
    sub = model.loop_2000a[0].loop_2000b[0].loop_2000c[0].loop_2100c
    address = MEMBERS["SBX10001"]["subscriber"]["address"]
    assert sub.n3_segment.address_information_1 == address["line1"]
    assert (sub.n4_segment.city_name, sub.n4_segment.state_province_code, sub.n4_segment.postal_code) == (
        address["city"],
        address["state"],
        address["postal_code"],
    )
    refs = {r.reference_identification_qualifier: r.reference_identification for r in sub.ref_segment or []}
    assert refs == {"EJ": "PAT-77"}
    # Without REF*EJ in the 270 there is none to echo.
    plain = model_of(await ask(sandbox, sample_270("SBX10001", date_of_service=DOS)))
    assert not plain.loop_2000a[0].loop_2000b[0].loop_2000c[0].loop_2100c.ref_segment


async def test_an_hmo_reports_plan_number_type_messages_and_the_primary_care_provider(sandbox: Any) -> None:
    member = MEMBERS["SBX10003"]
    model = model_of(await ask(sandbox, sample_270("SBX10003", date_of_service=DOS)))
    sub = model.loop_2000a[0].loop_2000b[0].loop_2000c[0].loop_2100c
    refs = {r.reference_identification_qualifier: r.reference_identification for r in sub.ref_segment or []}
    assert refs["18"] == member["plan"]["plan_number"]
    coverage = sub.loop_2110c[0]
    assert coverage.eb_segment.eligibility_benefit_information == "1"
    assert coverage.eb_segment.insurance_type_code == member["plan"]["insurance_type"] == "HM"
    assert [m.free_form_text for m in coverage.msg_segment] == member["plan"]["messages"]
    [pcp_row] = [item for item in sub.loop_2110c if item.eb_segment.eligibility_benefit_information == "L"]
    [entity] = pcp_row.loop_2120c
    pcp = member["primary_care_provider"]
    assert entity.nm1_segment.entity_identifier_code == "P3"
    assert (entity.nm1_segment.name_last_or_organization_name, entity.nm1_segment.name_first) == (
        pcp["last_name"],
        pcp["first_name"],
    )
    assert (entity.nm1_segment.identification_code_qualifier, entity.nm1_segment.identification_code) == (
        "XX",
        pcp["npi"],
    )
    assert (entity.prv_segment.provider_code, entity.prv_segment.reference_identification) == (
        "PC",
        pcp["taxonomy"],
    )
