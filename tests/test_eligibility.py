"""Eligibility over the real HTTP path: the service (in-process ASGI, real PostgreSQL and
Kafka) calls the payer sandbox (real HTTP on an ephemeral port) with X12 270s.

Expected values come from the sandbox's scenario table (deploy/payer_sandbox/data/
scenarios.json), never from numbers written here. The payer is observed through the
sandbox's /stats request counts.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.payer_sandbox.testing import running_sandbox
from services.eligibility.service import SERVICE
from services.eligibility.settings import EligibilitySettings
from shared.app import create_app
from shared.events import new_event
from shared.events.catalogue import FeeScheduleEntry, FeeScheduleUpdated
from shared.events.envelope import encode
from tests.conftest import end_offsets, eventually, read_from, token, unique

SCENARIOS = json.loads(
    (Path(__file__).resolve().parents[1] / "deploy/payer_sandbox/data/scenarios.json").read_text()
)
MEMBERS: dict[str, Any] = SCENARIOS["members"]
NPI = "1234567893"
WRITE = token("eligibility:write", "eligibility:read")
READ = token("eligibility:read")


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[Any]:
    async with running_sandbox(None) as handle:
        yield handle


def payers_override(base_url: str, **changes: Any) -> str:
    """Point every sandbox payer at the test sandbox, with per-test changes for all of them."""
    fast = {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2}
    return json.dumps(
        {p: {"endpoint": f"{base_url}/x12/270", **fast, **changes} for p in ("SBX001", "SBX002", "SBX003")}
    )


@contextlib.asynccontextmanager
async def eligibility(settings, sandbox, **changes: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    service_changes = {k: changes.pop(k) for k in list(changes) if k in EligibilitySettings.model_fields}
    app = create_app(SERVICE, settings)
    app.state.eligibility_settings = EligibilitySettings(
        payers_override=payers_override(sandbox.base_url, **changes), **service_changes
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://eligibility", timeout=60
        ) as client:
            yield app, client


def check_body(member_id: str, *, payer_id: str = "SBX001", **extra: Any) -> dict[str, Any]:
    return {
        "patient_id": extra.pop("patient_id", unique("pat")),
        "patient": {"first_name": "Jane", "last_name": "Doe", "birth_date": "1980-01-15"},
        "member_id": member_id,
        "payer_id": payer_id,
        "provider_npi": NPI,
        "service_type_codes": extra.pop("service_type_codes", ["30", "98"]),
        **extra,
    }


async def member_calls(sandbox, member_id: str) -> int:
    return (await sandbox.stats())["by_member"].get(member_id, 0)


def benefits_of(member: dict[str, Any]) -> dict[str, Any]:
    benefits = member["benefits"]
    return MEMBERS[benefits]["benefits"] if isinstance(benefits, str) else benefits


def by_code(check: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["service_type_code"]: b for b in check["benefits"]}


def assert_benefits(check: dict[str, Any], member: dict[str, Any]) -> None:
    """Every number the scenario table promises, as the API shows it."""
    expected = benefits_of(member)
    codes = by_code(check)
    for network in ("in_network", "out_of_network"):
        tier = expected.get(network)
        if tier is None:
            continue
        for stc, copay in tier["copays"].items():
            assert Decimal(codes[stc]["copay"][network]) == Decimal(copay), (stc, network)
        office = codes["98"] if "98" in codes else codes["30"]
        assert Decimal(office["coinsurance_percent"][network]) == Decimal(tier["coinsurance_percent"])
        for book in ("deductible", "out_of_pocket"):
            for level in ("individual", "family"):
                shown = office[book][level][network]
                for part in ("total", "met", "remaining"):
                    assert Decimal(shown[part]) == Decimal(tier[book][level][part]), (
                        book,
                        level,
                        network,
                        part,
                    )


# --- the documented scenarios -------------------------------------------------------------


async def test_every_sandbox_scenario_gives_the_documented_answer(settings, sandbox):
    outcomes: dict[str, str] = {}
    async with eligibility(settings, sandbox) as (_, client):
        for member_id, member in MEMBERS.items():
            if member["scenario"] in ("slow", "http_500"):
                continue  # below: 202/poll and 502
            stcs = ["30", "98", *member["prior_auth_required_service_types"]]
            calls_before = await member_calls(sandbox, member_id)
            response = await client.post(
                "/v1/eligibility/checks",
                json=check_body(member_id, payer_id=member["payer_id"], service_type_codes=stcs),
                headers=WRITE,
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
                calls = await member_calls(sandbox, member_id) - calls_before
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
            response = await client.post("/v1/eligibility/checks", json=check_body(member_id), headers=WRITE)
            check = response.json()
            assert response.status_code == 200 and check["status"] == "error"
            assert check["rejections"][0]["reason_code"] == code
            assert check["rejections"][0]["follow_up_action"] == "Correct the request and resubmit"
    print(f"\n[scenarios] {len(outcomes)} members answered as documented: {outcomes}")


async def test_http_500_is_retried_then_a_502_problem(settings, sandbox):
    async with eligibility(settings, sandbox) as (_, client):
        before = await member_calls(sandbox, "SBX60002")
        response = await client.post("/v1/eligibility/checks", json=check_body("SBX60002"), headers=WRITE)
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["retryable"] is True and "retried" in problem["detail"]
        assert await member_calls(sandbox, "SBX60002") - before == 3  # 1 + max_retries
        check = (await client.get(response.headers["Location"], headers=READ)).json()
        assert check["state"] == "failed" and check["error"]["code"] == "payer-bad-gateway"


async def test_slow_payer_answers_202_then_the_poll_link_has_the_coverage(settings, sandbox):
    member = MEMBERS["SBX60001"]
    async with eligibility(settings, sandbox) as (_, client):
        response = await client.post(
            "/v1/eligibility/checks", json=check_body("SBX60001"), headers={**WRITE, "Prefer": "wait=0.2"}
        )
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


async def test_timeout_is_a_504_problem_that_says_it_can_be_retried(settings, sandbox):
    # The slow member answers after the sandbox's slow delay; this payer's budget is shorter.
    budget = SCENARIOS["defaults"]["slow_delay_ms"] / 1000 / 3
    async with eligibility(
        settings, sandbox, timeout_seconds=budget, attempt_timeout_seconds=budget, max_retries=0
    ) as (_, client):
        started = time.perf_counter()
        response = await client.post(
            "/v1/eligibility/checks",
            json=check_body("SBX60001"),
            headers={**WRITE, "Cache-Control": "no-cache"},  # the 202 test may have cached an answer
        )
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


async def test_open_breaker_fails_fast_without_calling_the_payer(settings, sandbox):
    async with eligibility(
        settings, sandbox, breaker_failure_threshold=2, breaker_reset_seconds=60, max_retries=0
    ) as (_, client):
        for _ in range(2):
            failed = await client.post("/v1/eligibility/checks", json=check_body("SBX60002"), headers=WRITE)
            assert failed.status_code == 502
        total_before = (await sandbox.stats())["total"]
        started = time.perf_counter()
        response = await client.post(
            "/v1/eligibility/checks",
            json=check_body("SBX10001"),
            headers={**WRITE, "Cache-Control": "no-cache"},
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 503
        problem = response.json()
        assert problem["type"].endswith("/payer-circuit-open") and problem["retryable"] is True
        assert int(response.headers["Retry-After"]) > 0
        assert (await sandbox.stats())["total"] == total_before  # the payer was not called
    print(f"\n[breaker] open breaker answered 503 in {elapsed * 1000:.1f} ms, payer calls +0")


async def test_cache_hit_does_not_call_the_payer(settings, sandbox):
    dos = (date.today() - timedelta(days=3)).isoformat()  # a date no other test uses
    async with eligibility(settings, sandbox) as (_, client):
        first = await client.post(
            "/v1/eligibility/checks", json=check_body("SBX10002", date_of_service=dos), headers=WRITE
        )
        assert first.status_code == 200 and first.json()["cached"] is False
        calls = await member_calls(sandbox, "SBX10002")
        again = await client.post(
            "/v1/eligibility/checks", json=check_body("SBX10002", date_of_service=dos), headers=WRITE
        )
        assert again.status_code == 200
        assert again.json()["cached"] is True and again.json()["id"] != first.json()["id"]
        assert again.json()["benefits"] == first.json()["benefits"]
        assert await member_calls(sandbox, "SBX10002") == calls  # no payer call
        # Another service type is another question: it goes to the payer.
        other = await client.post(
            "/v1/eligibility/checks",
            json=check_body("SBX10002", date_of_service=dos, service_type_codes=["30"]),
            headers=WRITE,
        )
        assert other.json()["cached"] is False
        assert await member_calls(sandbox, "SBX10002") == calls + 1
    print(f"\n[cache] repeat check: sandbox count for SBX10002 stayed at {calls}")


# --- events, PHI, raw X12 -------------------------------------------------------------------


async def test_eligibility_checked_on_kafka_with_benefits_and_no_phi(settings, sandbox, servers, admin):
    patient = unique("pat")
    start = await end_offsets(servers.kafka_bootstrap, "eligibility.checked")
    async with eligibility(settings, sandbox) as (_, client):
        response = await client.post(
            "/v1/eligibility/checks",
            json=check_body("SBX40002", patient_id=patient),
            headers={**WRITE, "Cache-Control": "no-cache"},
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
    assert event["other_payers"] == [{"payer_id": "SBX002", "order": "secondary"}]
    expected = benefits_of(MEMBERS["SBX40002"])["in_network"]
    office = next(b for b in event["benefits"] if b["service_type_code"] == "98" and b["in_network"])
    assert office["copay"] == expected["copays"]["98"]
    assert Decimal(office["coinsurance_percent"]) == Decimal(expected["coinsurance_percent"])
    assert office["deductible_remaining"] == expected["deductible"]["individual"]["remaining"]
    assert office["out_of_pocket_remaining"] == expected["out_of_pocket"]["individual"]["remaining"]
    for phi in (b"SBX40002", b"JANE", b"DOE", b"1980-01-15", b"GRAY", b"PRIMARY"):
        assert phi not in record.value.upper(), phi
    # Raw X12 rows are encrypted at rest: no member id in the stored bytes.
    raw = await admin.fetchrow(
        "SELECT x12_270, x12_271 FROM eligibility.raw_x12 WHERE check_id = $1::uuid", event["check_id"]
    )
    assert b"SBX40002" not in raw["x12_270"] and b"SBX40002" not in raw["x12_271"]
    print(f"\n[kafka] eligibility.checked {event['check_id']} at offset {record.offset}: {event['benefits']}")


async def test_raw_x12_needs_its_own_scope_and_every_read_is_audited(settings, sandbox):
    async with eligibility(settings, sandbox) as (_, client):
        check = (
            await client.post("/v1/eligibility/checks", json=check_body("SBX10001"), headers=WRITE)
        ).json()
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
            {"patient": {"first_name": "A", "last_name": "B", "birth_date": "2999-01-01"}},
            "body.patient.birth_date",
            "date_in_future",
        ),
        ({"member_id": "SBX 1001*"}, "body.member_id", "member_id_format"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(settings, sandbox, change, field, rule):
    async with eligibility(settings, sandbox) as (_, client):
        total = (await sandbox.stats())["total"]
        response = await client.post(
            "/v1/eligibility/checks", json={**check_body("SBX10001"), **change}, headers=WRITE
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        errors = response.json()["errors"]
        assert [(e["field"], e["rule"]) for e in errors] == [(field, rule)]
        assert "2999" not in response.text and "SBX 1001" not in response.text  # no value echoed
        assert (await sandbox.stats())["total"] == total


# --- batches ----------------------------------------------------------------------------------


async def test_batch_of_500_shows_progress_and_survives_a_restart_halfway(settings, sandbox, admin):
    # Members the sandbox answers like SBX10001 (pattern SBXG + 6 digits), unique per run so
    # no answer comes from the cache: every check is a real payer call.
    base = random.randrange(0, 999_000)
    members = [f"SBXG{base + i:06d}" for i in range(500)]
    like = MEMBERS[next(p["like"] for p in SCENARIOS["patterns"] if p["pattern"].startswith("^SBXG"))]
    patients = [unique("bpat") for _ in members]
    body = {"checks": [check_body(m, patient_id=p) for m, p in zip(members, patients, strict=True)]}
    # 100 checks/s for this payer: the batch takes a few seconds, long enough to stop it halfway.
    knobs = {"rate_limit_per_second": 100, "rate_limit_burst": 10}
    progress: list[tuple[int, int, int]] = []

    async def snapshot(client) -> dict[str, Any]:
        batch = (await client.get(location + "?results=false", headers=READ)).json()
        progress.append((batch["done"], batch["failed"], batch["pending"]))
        return batch

    async with eligibility(settings, sandbox, **knobs) as (_, client):
        started = time.perf_counter()
        created = await client.post("/v1/eligibility/batches", json=body, headers=WRITE)
        accepted_in = time.perf_counter() - started
        assert created.status_code == 202 and created.json()["pending"] == 500
        location = created.headers["Location"]
        await eventually(lambda: _at_least(snapshot, client, 150), timeout=60, interval=0.2)
    # The first service instance is gone, mid-batch. Nothing is lost, nothing is held.
    batch_id = uuid.UUID(location.rsplit("/", 1)[1])
    states = dict(
        await admin.fetch(
            "SELECT state, count(*) FROM eligibility.checks WHERE batch_id = $1 GROUP BY state", batch_id
        )
    )
    held = await admin.fetchval(
        "SELECT count(*) FROM eligibility.checks "
        "WHERE batch_id = $1 AND state = 'pending' AND lease_until IS NOT NULL",
        batch_id,
    )
    assert states.get("pending", 0) > 0 and held == 0, (states, held)
    stopped_at = dict(states)

    async with eligibility(settings, sandbox, **knobs) as (_, client):
        batch = await eventually(lambda: _complete(snapshot, client), timeout=60, interval=0.2)
        results = (await client.get(location, headers=READ)).json()["results"]
    elapsed = time.perf_counter() - started
    assert (batch["done"], batch["failed"], batch["pending"]) == (500, 0, 0)
    assert sorted(r["patient_id"] for r in results) == sorted(patients)
    assert {(r["state"], r["status"], r["plan_name"]) for r in results} == {
        ("done", like["expected"]["outcome"], like["plan"]["name"])
    }
    done_seen = [d for d, _, _ in progress]
    assert done_seen == sorted(done_seen) and len(set(done_seen)) > 3  # progress moved, never back
    by_member = (await sandbox.stats())["by_member"]
    calls = [by_member.get(m, 0) for m in members]
    assert min(calls) >= 1
    print(
        f"\n[batch] 500 checks accepted in {accepted_in * 1000:.0f} ms; stopped at {stopped_at}; "
        f"complete after restart in {elapsed:.1f}s total "
        f"({500 / elapsed:.0f} checks/s with the 100/s limit); "
        f"payer calls {sum(calls)} (repeated after the stop: {sum(calls) - 500}); "
        f"{len(progress)} progress polls, e.g. {progress[:: max(1, len(progress) // 6)]}"
    )


async def _at_least(snapshot, client, n: int) -> bool:
    return (await snapshot(client))["done"] >= n


async def _complete(snapshot, client) -> dict[str, Any] | None:
    batch = await snapshot(client)
    return batch if batch["complete"] else None


async def test_batch_validation_names_the_item_and_a_retried_post_queues_once(settings, sandbox):
    async with eligibility(settings, sandbox) as (_, client):
        key = {**WRITE, "Idempotency-Key": unique("key")}
        one = {"checks": [check_body("SBX10001")]}
        first = await client.post("/v1/eligibility/batches", json=one, headers=key)
        again = await client.post("/v1/eligibility/batches", json=one, headers=key)
        assert first.status_code == again.status_code == 202
        assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
        bad = [check_body("SBX10001"), check_body("SBX10001", payer_id="NOPE01")]
        response = await client.post("/v1/eligibility/batches", json={"checks": bad}, headers=WRITE)
        assert response.status_code == 422
        assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
            ("body.checks.1.payer_id", "unknown_payer")
        ]


# --- estimates --------------------------------------------------------------------------------


async def test_estimate_from_a_check_and_fee_schedule_event_matches_the_hand_computation(
    settings, sandbox, servers, producer, admin
):
    # The payer's allowed amount for 99213 arrives as an event; 80053 comes from the default
    # file. The effective date is the date of service, so no other fee schedule on the shared
    # broker can be newer for that date.
    dos = date(2025, 3, 17)
    schedule = FeeScheduleUpdated(
        payer_id="SBX001",
        fee_schedule_id=uuid.uuid4(),
        effective_date=dos,
        entries=[FeeScheduleEntry(code="99213", allowed=Decimal("97.30"))],
    )
    topic, key, value, headers = encode(new_event(schedule, source="/tests/payments"))
    await producer.send_and_wait(topic, value, key=key, headers=headers)
    member = MEMBERS["SBX10002"]
    tier = member["benefits"]["in_network"]
    # The hand computation below assumes these benefits; they come from the scenario table.
    assert (
        tier["copays"]["98"],
        tier["coinsurance_percent"],
        tier["deductible"]["individual"]["remaining"],
    ) == (
        "20.00",
        "10",
        "0.00",
    )
    async with eligibility(settings, sandbox) as (_, client):
        check = (
            await client.post(
                "/v1/eligibility/checks",
                json=check_body("SBX10002", date_of_service=dos.isoformat()),
                headers=WRITE,
            )
        ).json()

        async def received():
            return await admin.fetchval(
                "SELECT allowed FROM eligibility.fee_schedule_entries WHERE fee_schedule_id = $1",
                schedule.fee_schedule_id,
            )

        assert await eventually(received, timeout=30) == Decimal("97.30")
        response = await client.post(
            "/v1/estimates",
            json={
                "check_id": check["id"],
                "service_type_code": "98",
                "lines": [
                    {"code": "99213", "units": 1, "charge": "150.00"},
                    {"code": "80053", "units": 1, "charge": "40.00"},
                ],
            },
            headers=READ,
        )
    assert response.status_code == 200, response.text
    estimate = response.json()
    # By hand: copay 20.00, deductible met, coinsurance 10%.
    #   99213: allowed 97.30 (event); copay 20.00; deductible 0.00; 10% x 77.30 = 7.73 -> 27.73
    #   80053: allowed 10.56 (default file, SBX001); copay 0.00 (used); 10% x 10.56 = 1.056 -> 1.06
    #   patient 28.79, payer 107.86 - 28.79 = 79.07
    first, second = estimate["lines"]
    assert (
        first["allowed"],
        first["copay"],
        first["deductible"],
        first["coinsurance"],
        first["patient_share"],
    ) == (
        "97.30",
        "20.00",
        "0.00",
        "7.73",
        "27.73",
    )
    assert str(schedule.fee_schedule_id) in first["steps"][0]
    assert (second["allowed"], second["copay"], second["coinsurance"], second["patient_share"]) == (
        "10.56",
        "0.00",
        "1.06",
        "1.06",
    )
    assert "default fee schedule (SBX001)" in second["steps"][0]
    assert estimate["totals"]["allowed"] == "107.86"
    assert (estimate["patient_responsibility"], estimate["payer_responsibility"]) == ("28.79", "79.07")
    print("\n[estimate] " + "\n  ".join(first["steps"] + second["steps"] + estimate["steps"]))


# --- authorizations -----------------------------------------------------------------------------


async def test_authorizations_are_recorded_announced_and_warned_about_once(settings, sandbox, servers, admin):
    from services.eligibility.authorizations import alert_step

    patient = unique("apat")
    today = date.today()
    recorded_start = await end_offsets(servers.kafka_bootstrap, "authorization.recorded")
    expiring_start = await end_offsets(servers.kafka_bootstrap, "authorization.expiring")
    async with eligibility(
        settings, sandbox, authorization_expiring_days=10, authorization_visits_threshold=2
    ) as (app, client):
        soon = {
            "patient_id": patient,
            "payer_id": "SBX001",
            "number": unique("PA"),
            "service_codes": ["97110"],
            "start_date": (today - timedelta(days=30)).isoformat(),
            "end_date": (today + timedelta(days=5)).isoformat(),
            "visits_allowed": 12,
            "visits_used": 3,
        }
        later = {**soon, "number": unique("PA"), "end_date": (today + timedelta(days=90)).isoformat()}
        created = await client.post("/v1/authorizations", json=soon, headers=WRITE)
        assert created.status_code == 201, created.text
        other = (await client.post("/v1/authorizations", json=later, headers=WRITE)).json()
        dup = await client.post("/v1/authorizations", json=soon, headers=WRITE)
        assert dup.status_code == 409
        listed = (await client.get(f"/v1/authorizations?patient_id={patient}", headers=READ)).json()
        assert [a["number"] for a in listed] == [soon["number"], later["number"]]

        await alert_step(app, today)  # the 5-days-left one is due (days threshold 10)
        await alert_step(app, today)  # ...and only once
        # Use visits on the other until 2 remain: the visits threshold fires for it.
        used = await client.post(
            f"/v1/authorizations/{other['id']}/visits", json={"visits": 7}, headers=WRITE
        )
        assert used.json()["visits_left"] == 2
        await alert_step(app, today)
        await alert_step(app, today)

        recorded = await read_from(
            servers.kafka_bootstrap,
            "authorization.recorded",
            recorded_start,
            until=lambda rs: sum(r.key == patient.encode() for r in rs) >= 2,
        )
        expiring = await read_from(
            servers.kafka_bootstrap,
            "authorization.expiring",
            expiring_start,
            until=lambda rs: sum(r.key == patient.encode() for r in rs) >= 2,
        )
    # Once per authorization and threshold, at the source: two rows in the outbox, not four.
    staged = await admin.fetchval(
        "SELECT count(*) FROM eligibility.outbox "
        "WHERE event_type = 'authorization.expiring.v1' AND event_key = $1",
        patient,
    )
    assert staged == 2
    mine = [json.loads(r.value) for r in recorded if r.key == patient.encode()]
    assert sorted(e["number"] for e in mine) == sorted([soon["number"], later["number"]])
    alerts = [json.loads(r.value) for r in expiring if r.key == patient.encode()]
    assert sorted((a["authorization_id"], a["days_left"], a["visits_left"]) for a in alerts) == sorted(
        [(created.json()["id"], 5, 9), (other["id"], 90, 2)]
    )
