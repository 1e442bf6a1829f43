"""Payer sandbox, eligibility: every scenario in data/scenarios.json answers, over real
HTTP, what the table says, and every 271 is read back by an independent parser (x12sdk's
typed 005010X279A1 models)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pydantic
import pytest
from x12sdk.io import X12ModelReader, X12SegmentReader

from deploy.payer_sandbox.data import scenario_table
from deploy.payer_sandbox.testing import running_sandbox, sample_270

TABLE = scenario_table()
MEMBERS: dict[str, dict[str, Any]] = TABLE["members"]
DOS = "20261120"  # inside every open-ended coverage, after SBX20002's termination


def _benefits(member: dict[str, Any]) -> dict[str, Any] | None:
    benefits = member["benefits"]
    return MEMBERS[benefits]["benefits"] if isinstance(benefits, str) else benefits


def _aaa_codes_by_segment_reader(text: str) -> list[str]:
    with X12SegmentReader(text) as reader:
        return [fields[3] for name, fields in reader.segments() if name == "AAA"]


def parse_271(text: str) -> tuple[Any | None, list[str]]:
    """(model, AAA codes). x12sdk models loop 2100C's AAA with loop 2100B's code list,
    which lacks codes the X279A1 guide allows there (72 invalid member id, 75 subscriber
    not found). For exactly that complaint the segments are read with x12sdk's segment
    reader instead; any other validation error fails the test."""
    try:
        with X12ModelReader(text) as reader:
            models = list(reader.models())
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        assert all(
            e["loc"][-4:-2] == ("loop_2100c", "aaa_segment") and e["loc"][-1] == "reject_reason_code"
            for e in errors
        ), errors
        codes = _aaa_codes_by_segment_reader(text)
        assert all(e["input"] in codes for e in errors)
        return None, codes
    assert len(models) == 1
    return models[0], _aaa_codes_by_segment_reader(text)


def _subscriber(model: Any) -> Any:
    return model.loop_2000a[0].loop_2000b[0].loop_2000c[0].loop_2100c


def _eb(loop: Any) -> list[Any]:
    return [item.eb_segment for item in loop.loop_2110c or []]


def _assert_network(ebs: list[Any], tier: dict[str, Any], in_plan: str) -> None:
    def amount(code: str, level: str, period: str, service_type: str = "30") -> Decimal:
        found = [
            e.benefit_amount
            for e in ebs
            if e.eligibility_benefit_information == code
            and e.coverage_level_code == level
            and e.time_period_qualifier == period
            and e.inplan_network_indicator == in_plan
            and e.service_type_code == [service_type]
        ]
        assert len(found) == 1, (code, level, period, in_plan, service_type)
        return Decimal(str(found[0]))

    for code, key in (("C", "deductible"), ("G", "out_of_pocket")):
        for level, name in (("IND", "individual"), ("FAM", "family")):
            acc = tier[key][name]
            assert amount(code, level, "23") == Decimal(acc["total"])
            assert amount(code, level, "24") == Decimal(acc["met"])
            assert amount(code, level, "29") == Decimal(acc["remaining"])
            assert Decimal(acc["total"]) - Decimal(acc["met"]) == Decimal(acc["remaining"])
    coins = {
        e.service_type_code[0]: Decimal(str(e.benefit_percent)) * 100
        for e in ebs
        if e.eligibility_benefit_information == "A" and e.inplan_network_indicator == in_plan
    }
    # A copay-only service type reports its own coinsurance 0 and deductible 0 (total and
    # remaining); one whose deductible and coinsurance apply after the copay reports none.
    copay_only = {s for s in tier["copays"] if s not in tier.get("cost_share_after_copay", [])}
    assert coins == {"30": Decimal(tier["coinsurance_percent"])} | dict.fromkeys(copay_only, Decimal(0))
    for service_type in copay_only:
        assert amount("C", "IND", "23", service_type) == amount("C", "IND", "29", service_type) == 0
    copays = {
        e.service_type_code[0]: Decimal(str(e.benefit_amount))
        for e in ebs
        if e.eligibility_benefit_information == "B" and e.inplan_network_indicator == in_plan
    }
    assert copays == {k: Decimal(v) for k, v in tier["copays"].items()}


def check_271_against_table(member_id: str, text: str) -> None:
    member = MEMBERS[member_id]
    expected = member["expected"]
    model, aaa = parse_271(text)
    if expected["outcome"] == "error":
        assert aaa == [expected["error_code"]]
        loop = member["response"]["aaa"]["loop"]
        if model is not None:  # 2100A: x12sdk reads it fully
            assert loop == "2100A"
            assert model.loop_2000a[0].loop_2100a.aaa_segment[0].reject_reason_code == expected["error_code"]
        return
    assert model is not None and aaa == []
    sub = _subscriber(model)
    assert sub.nm1_segment.identification_code == member_id
    assert sub.nm1_segment.name_last_or_organization_name == member["subscriber"]["last_name"]
    ebs = _eb(sub)
    dates = {d.date_time_qualifier: d.date_time_period.isoformat() for d in sub.dtp_segment or []}
    assert dates.get("346") == member["coverage"]["start"]
    assert dates.get("347") == member["coverage"]["end"]
    if expected["outcome"] == "inactive":
        assert [e.eligibility_benefit_information for e in ebs] == ["6"]
        return
    assert expected["outcome"] == "active"
    first = ebs[0]
    assert first.eligibility_benefit_information == "1"
    assert first.service_type_code == member["service_types"]
    assert first.insurance_type_code == member["plan"]["insurance_type"]
    assert first.plan_coverage_description == member["plan"]["name"]
    benefits = _benefits(member)
    assert benefits is not None
    _assert_network(ebs, benefits["in_network"], "Y")
    if benefits["out_of_network"]:
        _assert_network(ebs, benefits["out_of_network"], "N")
    else:
        assert not [e for e in ebs if e.inplan_network_indicator == "N"]
    auth_types = [
        e.service_type_code[0]
        for e in ebs
        if e.eligibility_benefit_information == "1" and e.authorization_certification_indicator == "Y"
    ]
    assert auth_types == member["prior_auth_required_service_types"]
    entity = {"primary": "PRP", "secondary": "SEP", "tertiary": "TTP"}
    others = [item for item in sub.loop_2110c if item.eb_segment.eligibility_benefit_information == "R"]
    assert len(others) == len(member["other_payers"])
    for item, other in zip(others, member["other_payers"], strict=True):
        nm1 = item.loop_2120c[0].nm1_segment
        assert (nm1.entity_identifier_code, nm1.identification_code) == (
            entity[other["order"]],
            other["payer_id"],
        )
        refs = {
            r.reference_identification_qualifier: r.reference_identification for r in item.ref_segment or []
        }
        assert refs.get("1W") == other["member_id"]


@pytest.fixture
async def sandbox() -> Any:
    async with running_sandbox(slow_delay_ms=300) as handle:
        yield handle


async def test_every_scenario_answers_what_the_table_says(sandbox: Any) -> None:
    await sandbox.reset_stats()
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        for n, member_id in enumerate(MEMBERS, start=1):
            body = sample_270(member_id, date_of_service=DOS, trace_number=f"T{n}", control_number=n)
            response = await client.post(
                "/x12/270", content=body, headers={"content-type": "application/edi-x12"}
            )
            expected = MEMBERS[member_id]["expected"]
            if expected["outcome"] == "http_error":
                assert response.status_code == MEMBERS[member_id]["response"]["http_status"] == 500
                assert response.headers["content-type"].startswith("application/problem+json")
                assert member_id not in response.text  # no PHI in errors
                continue
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("application/edi-x12")
            check_271_against_table(member_id, response.text)
            assert f"TRN*2*T{n}*" in response.text  # the 270's trace comes back
    stats = await sandbox.stats()
    assert stats["total"] == len(MEMBERS)
    assert stats["by_member"] == dict.fromkeys(MEMBERS, 1)
    await sandbox.reset_stats()
    assert (await sandbox.stats())["total"] == 0


async def test_terminated_coverage_is_active_before_its_end_date(sandbox: Any) -> None:
    member = MEMBERS["SBX20002"]
    before_end = member["coverage"]["end"].replace("-", "")
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        response = await client.post("/x12/270", content=sample_270("SBX20002", date_of_service=before_end))
    model, aaa = parse_271(response.text)
    assert aaa == [] and model is not None
    assert _eb(_subscriber(model))[0].eligibility_benefit_information == "1"


@pytest.mark.parametrize(
    ("member_id", "code"),
    [
        (None, TABLE["defaults"]["malformed_member_id_aaa"]),  # missing
        ("NOT-AN-ID", TABLE["defaults"]["malformed_member_id_aaa"]),  # malformed
        ("SBX99999", TABLE["defaults"]["unknown_member_id_aaa"]),  # well formed, not on file
    ],
)
async def test_missing_malformed_and_unknown_member_ids(
    sandbox: Any, member_id: str | None, code: str
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        response = await client.post("/x12/270", content=sample_270(member_id, date_of_service=DOS))
    assert response.status_code == 200
    _model, aaa = parse_271(response.text)
    assert aaa == [code]
    assert code in ("72", "75")


async def test_generated_members_answer_like_their_model(sandbox: Any) -> None:
    pattern = TABLE["patterns"][0]
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        response = await client.post("/x12/270", content=sample_270("SBXG000042", date_of_service=DOS))
    model, _ = parse_271(response.text)
    like = _subscriber(model)
    assert like.nm1_segment.identification_code == "SBXG000042"
    _assert_network(_eb(like), _benefits(MEMBERS[pattern["like"]])["in_network"], "Y")


async def test_not_a_270_is_a_located_problem(sandbox: Any) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        response = await client.post("/x12/270", content="hello")
        wrong_set = sample_270("SBX10001").replace("ST*270", "ST*271")
        response2 = await client.post("/x12/270", content=wrong_set)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("segment[1]")
    assert response2.status_code == 400


async def test_slow_scenario_delay_is_configurable(sandbox: Any) -> None:
    """SBX60001 waits its delay (300 ms here through config; the header overrides it): a
    client with a shorter timeout gives up, one with a longer timeout gets the 271."""
    async with httpx.AsyncClient(base_url=sandbox.base_url) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                "/x12/270",
                content=sample_270("SBX60001", date_of_service=DOS),
                headers={"X-Sandbox-Delay-Ms": "3000"},
                timeout=0.5,
            )
        response = await client.post(
            "/x12/270", content=sample_270("SBX60001", date_of_service=DOS), timeout=20
        )
    check_271_against_table("SBX60001", response.text)


async def test_health_and_openapi(sandbox: Any) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        health = await client.get("/health")
        spec = await client.get("/openapi.json")
        scenarios = await client.get("/scenarios")
    assert health.status_code == 200 and health.json()["status"] == "pass"
    assert "/x12/270" in spec.json()["paths"]
    assert set(scenarios.json()["members"]) == set(MEMBERS)
