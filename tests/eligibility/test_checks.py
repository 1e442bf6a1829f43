"""Coverage checks over the real HTTP path: the service (in-process ASGI, real PostgreSQL and
Kafka) calls the payer sandbox (real HTTP on an ephemeral port) with X12 270s.

Expected values come from the sandbox's scenario table (deploy/payer_sandbox/data/
scenarios.json), never from numbers written here. The payer is observed through the
sandbox's /stats request counts.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.conftest import end_offsets, eventually, read_from, token, unique
from tests.eligibility.helpers import (
    MEMBERS,
    READ,
    SCENARIOS,
    WRITE,
    assert_benefits,
    benefits_of,
    get_member_calls,
    make_check_body,
    post_check,
)

# --- the documented scenarios -------------------------------------------------------------

# A birth date in the future but inside the dates the platform stores (1900..2100; a date
# beyond them is refused by the input guard before this rule runs).
NEXT_YEAR = (date.today() + timedelta(days=366)).isoformat()


async def test_every_sandbox_scenario_gives_the_documented_answer(eligibility, sandbox):
    outcomes: dict[str, str] = {}
    async with eligibility() as (_, client):
        for member_id, member in MEMBERS.items():
            if member["scenario"] in ("slow", "http_500"):
                continue  # below: 202/poll and 502
            stcs = ["30", "98", *member["prior_auth_required_service_types"]]
            calls_before = await get_member_calls(sandbox, member_id)
            response = await post_check(
                client, make_check_body(member_id, payer_id=member["payer_id"], service_type_codes=stcs)
            )
            assert response.status_code == 200, (member_id, response.text)
            check = response.json()
            expected = member["expected"]
            assert check["state"] == "done" and check["status"] == expected["outcome"], member_id
            outcomes[member_id] = check["status"]
            if expected["error_code"]:
                rejection = check["rejections"][0]
                assert rejection["reason_code"] == expected["error_code"]
                aaa = member["response"]["aaa"]
                assert rejection["follow_up_code"] == aaa["follow_up"]
                assert rejection["transient"] is aaa["transient"]
                assert rejection["reason"] and rejection["follow_up_action"]
                # Transient rejections (AAA 42) are retried; the others are not.
                calls = await get_member_calls(sandbox, member_id) - calls_before
                assert calls == (3 if aaa["transient"] else 1), (member_id, calls)
                continue
            assert check["plan_name"] == member["plan"]["name"], member_id
            assert check["coverage_start"] == member["coverage"]["start"]
            assert check["coverage_end"] == member["coverage"]["end"]
            if expected["outcome"] == "inactive":
                assert check["benefits"] == [] or all(not b["copay"]["in_network"] for b in check["benefits"])
                continue
            assert check["group_number"] == member["plan"]["group_number"]
            assert_benefits(check, member)
            flagged = {b["service_type_code"] for b in check["benefits"] if b["prior_auth_required"]}
            assert flagged == set(member["prior_auth_required_service_types"]), member_id
            assert [
                {
                    "payer_id": p["payer_id"],
                    "name": p["name"],
                    "order": p["order"],
                    "member_id": p["member_id"],
                }
                for p in check["other_payers"]
            ] == member["other_payers"], member_id

        # A member id that is well formed for us but not for the payer: AAA 72; unknown: 75.
        for member_id, code in (
            ("ABC-12", SCENARIOS["defaults"]["malformed_member_id_aaa"]),
            ("SBX99999", SCENARIOS["defaults"]["unknown_member_id_aaa"]),
        ):
            response = await post_check(client, make_check_body(member_id))
            check = response.json()
            assert response.status_code == 200 and check["status"] == "error"
            assert check["rejections"][0]["reason_code"] == code
            assert check["rejections"][0]["follow_up_action"] == "Correct the request and resubmit"
    print(f"\n[scenarios] {len(outcomes)} members answered as documented: {outcomes}")


async def test_http_500_is_retried_then_a_502_problem(eligibility, sandbox):
    async with eligibility() as (_, client):
        before = await get_member_calls(sandbox, "SBX60002")
        response = await post_check(client, make_check_body("SBX60002"))
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["retryable"] is True and "retried" in problem["detail"]
        assert await get_member_calls(sandbox, "SBX60002") - before == 3  # 1 + max_retries
        check = (await client.get(response.headers["Location"], headers=READ)).json()
        assert check["state"] == "failed" and check["error"]["code"] == "payer-bad-gateway"


async def test_slow_payer_answers_202_then_the_poll_link_has_the_coverage(eligibility, sandbox):
    member = MEMBERS["SBX60001"]
    async with eligibility() as (_, client):
        response = await post_check(client, make_check_body("SBX60001"), {**WRITE, "Prefer": "wait=0.2"})
        assert response.status_code == 202, response.text
        assert response.json()["state"] == "pending"
        location = response.headers["Location"]

        async def done():
            check = (await client.get(location, headers=READ)).json()
            return check if check["state"] != "pending" else None

        check = await eventually(done, timeout=20)
        assert check["status"] == member["expected"]["outcome"] == "active"
        assert_benefits(check, member)


# --- timeouts, breaker, cache ---------------------------------------------------------------


async def test_timeout_is_a_504_problem_that_says_it_can_be_retried(eligibility, sandbox):
    # The slow member answers after the sandbox's slow delay; this payer's budget is shorter.
    budget = SCENARIOS["defaults"]["slow_delay_ms"] / 1000 / 3
    knobs = {"timeout_seconds": budget, "attempt_timeout_seconds": budget, "max_retries": 0}
    async with eligibility(**knobs) as (_, client):
        started = time.perf_counter()
        # no-cache: the 202 test may have cached an answer
        no_cache = {**WRITE, "Cache-Control": "no-cache"}
        response = await post_check(client, make_check_body("SBX60001"), no_cache)
        elapsed = time.perf_counter() - started
        assert response.status_code == 504
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"].endswith("/payer-timeout")
        assert problem["retryable"] is True and "can be retried" in problem["detail"]
        check = (await client.get(response.headers["Location"], headers=READ)).json()
        assert check["state"] == "failed"
        assert (check["error"]["code"], check["error"]["retryable"]) == ("payer-timeout", True)
    print(f"\n[timeout] budget {budget:.2f}s -> 504 after {elapsed:.2f}s")


async def test_open_breaker_fails_fast_without_calling_the_payer(eligibility, sandbox):
    async with eligibility(breaker_failure_threshold=2, breaker_reset_seconds=60, max_retries=0) as (
        _,
        client,
    ):
        for _ in range(2):
            failed = await post_check(client, make_check_body("SBX60002"))
            assert failed.status_code == 502
        total_before = (await sandbox.stats())["total"]
        started = time.perf_counter()
        response = await post_check(
            client, make_check_body("SBX10001"), {**WRITE, "Cache-Control": "no-cache"}
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 503
        problem = response.json()
        assert problem["type"].endswith("/payer-circuit-open") and problem["retryable"] is True
        assert int(response.headers["Retry-After"]) > 0
        assert (await sandbox.stats())["total"] == total_before  # the payer was not called
    print(f"\n[breaker] open breaker answered 503 in {elapsed * 1000:.1f} ms, payer calls +0")


async def test_cache_hit_does_not_call_the_payer(eligibility, sandbox):
    dos = (date.today() - timedelta(days=3)).isoformat()  # a date no other test uses
    async with eligibility() as (_, client):
        first = await post_check(client, make_check_body("SBX10002", date_of_service=dos))
        assert first.status_code == 200 and first.json()["cached"] is False
        calls = await get_member_calls(sandbox, "SBX10002")
        again = await post_check(client, make_check_body("SBX10002", date_of_service=dos))
        assert again.status_code == 200
        assert again.json()["cached"] is True and again.json()["id"] != first.json()["id"]
        assert again.json()["benefits"] == first.json()["benefits"]
        assert await get_member_calls(sandbox, "SBX10002") == calls  # no payer call
        # Another service type is another question: it goes to the payer.
        other = await post_check(
            client, make_check_body("SBX10002", date_of_service=dos, service_type_codes=["30"])
        )
        assert other.json()["cached"] is False
        assert await get_member_calls(sandbox, "SBX10002") == calls + 1
    print(f"\n[cache] repeat check: sandbox count for SBX10002 stayed at {calls}")


# --- events, PHI, raw X12 -------------------------------------------------------------------


async def test_eligibility_checked_on_kafka_with_benefits_and_no_phi(eligibility, sandbox, servers, admin):
    patient = unique("pat")
    start = await end_offsets(servers.kafka_bootstrap, "eligibility.checked")
    async with eligibility() as (_, client):
        response = await post_check(
            client, make_check_body("SBX40002", patient_id=patient), {**WRITE, "Cache-Control": "no-cache"}
        )
        check = response.json()
        records = await read_from(
            servers.kafka_bootstrap,
            "eligibility.checked",
            start,
            until=lambda rs: any(r.key == patient.encode() for r in rs),
        )
    record = next(r for r in records if r.key == patient.encode())
    event = json.loads(record.value)
    assert event["check_id"] == check["id"] and event["status"] == "active"
    # The other coverage travels with its own member id (271 2110C REF*1W): claims bills the
    # secondary with it. That is the only member id the event carries.
    assert event["other_payers"] == [{"payer_id": "SBX002", "order": "secondary", "member_id": "SBX40002S"}]
    expected = benefits_of(MEMBERS["SBX40002"])["in_network"]
    in_network = {b["service_type_code"]: b for b in event["benefits"] if b["in_network"]}
    plan, office = in_network["30"], in_network["98"]
    assert Decimal(plan["coinsurance_percent"]) == Decimal(expected["coinsurance_percent"])
    assert plan["deductible_remaining"] == expected["deductible"]["individual"]["remaining"]
    # Office visits are copay-only on this plan: the 271's own office-visit rows say
    # deductible 0 and coinsurance 0; the out-of-pocket maximum is the plan's.
    assert office["copay"] == expected["copays"]["98"]
    assert (Decimal(office["coinsurance_percent"]), Decimal(office["deductible_remaining"])) == (0, 0)
    assert office["out_of_pocket_remaining"] == expected["out_of_pocket"]["individual"]["remaining"]
    rest = record.value.upper().replace(b'"MEMBER_ID":"SBX40002S"', b"")
    for phi in (b"SBX40002", b"JANE", b"DOE", b"1980-01-15", b"GRAY", b"PRIMARY"):
        assert phi not in rest, phi
    # Raw X12 rows are encrypted at rest: no member id in the stored bytes.
    raw = await admin.fetchrow(
        "SELECT x12_270, x12_271 FROM eligibility.raw_x12 WHERE check_id = $1::uuid", event["check_id"]
    )
    assert b"SBX40002" not in raw["x12_270"] and b"SBX40002" not in raw["x12_271"]
    print(f"\n[kafka] eligibility.checked {event['check_id']} at offset {record.offset}: {event['benefits']}")


async def test_raw_x12_needs_its_own_scope_and_every_read_is_audited(eligibility, sandbox):
    async with eligibility() as (_, client):
        check = (await post_check(client, make_check_body("SBX10001"))).json()
        url = check["links"]["x12"]
        denied = await client.get(
            url, headers=token("eligibility:read", "eligibility:write", subject="clerk")
        )
        assert denied.status_code == 403
        raw = await client.get(url, headers=token("eligibility:x12", subject="auditor-7"))
        assert raw.status_code == 200
        body = raw.json()
        assert "NM1*IL*1*DOE*JANE****MI*SBX10001" in body["x12_270"]
        assert "ST*271" in body["x12_271"] and "SANDBOX PPO GOLD" in body["x12_271"]
        trail = (
            await client.get(
                f"/v1/audit?resource_id={check['id']}&resource_type=raw_x12", headers=token("ops:read")
            )
        ).json()
        assert [(e["actor"], e["outcome"]) for e in trail] == [("auditor-7", "success")]
        assert trail[0]["patient_id"] == check["patient_id"]
        # The patient's latest verified coverage is this check.
        coverage = await client.get(f"/v1/patients/{check['patient_id']}/coverage", headers=READ)
        assert coverage.status_code == 200 and coverage.json()["id"] == check["id"]
        assert coverage.json()["plan_name"] == MEMBERS["SBX10001"]["plan"]["name"]
        missing = await client.get(f"/v1/patients/{unique('nobody')}/coverage", headers=READ)
        assert missing.status_code == 404


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"provider_npi": "1234567890"}, "body.provider_npi", "npi_check_digit"),
        ({"payer_id": "NOPE01"}, "body.payer_id", "unknown_payer"),
        (
            {"patient": {"first_name": "A", "last_name": "B", "birth_date": NEXT_YEAR}},
            "body.patient.birth_date",
            "date_in_future",
        ),
        ({"member_id": "SBX 1001*"}, "body.member_id", "member_id_format"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(eligibility, sandbox, change, field, rule):
    async with eligibility() as (_, client):
        total = (await sandbox.stats())["total"]
        response = await post_check(client, {**make_check_body("SBX10001"), **change})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        errors = response.json()["errors"]
        assert [(e["field"], e["rule"]) for e in errors] == [(field, rule)]
        assert "2999" not in response.text and "SBX 1001" not in response.text  # no value echoed
        assert (await sandbox.stats())["total"] == total
