"""Eligibility's test helpers: the sandbox's scenario table, request builders (`make_`), HTTP
shortcuts (`post_`/`get_`) and the checks of what the scenario table promises.

Expected values come from the sandbox's scenario table (deploy/payer_sandbox/data/
scenarios.json), never from numbers written here.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pydantic
from x12sdk.io import X12ModelReader

from deploy.payer_sandbox.testing import SampleLine, sample_837
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted
from shared.events.frontoffice import CoverageUpdated, Demographics, PatientUpdated, RegisteredCoverage
from tests.conftest import token, unique

SCENARIOS = json.loads(
    (Path(__file__).resolve().parents[2] / "deploy/payer_sandbox/data/scenarios.json").read_text()
)
MEMBERS: dict[str, Any] = SCENARIOS["members"]
NPI = "1234567893"
WRITE = token("eligibility:write", "eligibility:read")
READ = token("eligibility:read")


def make_payers_override(base_url: str, **changes: Any) -> str:
    """Point every sandbox payer at the test sandbox, with per-test changes for all of them."""
    fast = {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2}
    return json.dumps(
        {p: {"endpoint": f"{base_url}/x12/270", **fast, **changes} for p in ("SBX001", "SBX002", "SBX003")}
    )


def make_check_body(member_id: str, *, payer_id: str = "SBX001", **extra: Any) -> dict[str, Any]:
    return {
        "patient_id": extra.pop("patient_id", unique("pat")),
        "patient": {"first_name": "Jane", "last_name": "Doe", "birth_date": "1980-01-15"},
        "member_id": member_id,
        "payer_id": payer_id,
        "provider_npi": NPI,
        "service_type_codes": extra.pop("service_type_codes", ["30", "98"]),
        **extra,
    }


async def post_check(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/v1/eligibility/checks", json=body, headers=headers or WRITE)


async def post_batch(
    client: httpx.AsyncClient, checks: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/v1/eligibility/batches", json={"checks": checks}, headers=headers or WRITE)


async def post_authorization(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/authorizations", json=body, headers=WRITE)


async def get_authorizations(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get("/v1/authorizations", params=params, headers=READ)


async def get_member_calls(sandbox: Any, member_id: str) -> int:
    """How many 270s the sandbox answered for this member so far."""
    return (await sandbox.stats())["by_member"].get(member_id, 0)


def benefits_of(member: dict[str, Any]) -> dict[str, Any]:
    benefits = member["benefits"]
    return MEMBERS[benefits]["benefits"] if isinstance(benefits, str) else benefits


def by_code(check: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["service_type_code"]: b for b in check["benefits"]}


def assert_benefits(check: dict[str, Any], member: dict[str, Any]) -> None:
    """Every number the scenario table promises, as the API shows it: the plan-level rows (30),
    the copays, and a copay-only service type's own rows (deductible 0, coinsurance 0) in its
    network, with the plan's rows where it has none of its own."""
    expected = benefits_of(member)
    codes = by_code(check)
    for network in ("in_network", "out_of_network"):
        tier = expected.get(network)
        if tier is None:
            continue
        plan = codes["30"]
        assert Decimal(plan["coinsurance_percent"][network]) == Decimal(tier["coinsurance_percent"])
        for book in ("deductible", "out_of_pocket"):
            for level in ("individual", "family"):
                shown = plan[book][level][network]
                for part in ("total", "met", "remaining"):
                    assert Decimal(shown[part]) == Decimal(tier[book][level][part]), (
                        book,
                        level,
                        network,
                        part,
                    )
        for stc, copay in tier["copays"].items():
            row = codes[stc]
            assert Decimal(row["copay"][network]) == Decimal(copay), (stc, network)
            assert row["out_of_pocket"] == plan["out_of_pocket"], stc  # copays count toward it
            if stc in tier.get("cost_share_after_copay", []):
                assert row["coinsurance_percent"][network] == plan["coinsurance_percent"][network]
                assert row["deductible"] == plan["deductible"], stc
            else:
                assert Decimal(row["coinsurance_percent"][network]) == 0, stc
                own = row["deductible"]["individual"][network]
                assert (Decimal(own["total"]), Decimal(own["remaining"])) == (0, 0), stc


def x279_errors(text: str) -> list[str]:
    """x12sdk's typed 005010X279A1 models on a 270 or 271: what they reject (loop structure,
    HL parents, required elements, code lists, SE01 counts), empty when the file is valid.
    pyx12 4.0.0 has no 005010X279A1 map, so this is the independent validator of 270/271s."""
    try:
        with X12ModelReader(text) as reader:
            models = list(reader.models())
    except pydantic.ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    except (KeyError, TypeError, ValueError) as exc:  # a segment x12sdk cannot place
        return [f"{type(exc).__name__}: {exc}"]
    return [] if len(models) == 1 else [f"{len(models)} transaction sets, expected 1"]


def make_demographics(member_id: str = "SBX10001", **changes: Any) -> Demographics:
    """A person as the front office registers them: by default the scenario member's
    subscriber exactly as the sandbox's table has them (so a 271 about them agrees)."""
    sub = MEMBERS[member_id]["subscriber"]
    values: dict[str, Any] = {
        "first_name": sub["first_name"],
        "last_name": sub["last_name"],
        "birth_date": sub["birth_date"],
        "sex": sub.get("gender", "U"),
        "address": sub.get("address"),
        **changes,
    }
    return Demographics.model_validate(values)


def make_patient_updated(patient_id: str, revision: int, patient: Demographics) -> PatientUpdated:
    return PatientUpdated(
        patient_id=patient_id,
        revision=revision,
        patient=patient,
        reason="registration",
        changed_by="frontdesk-1",
        changed_at=datetime.now(UTC),
    )


def make_coverage(member_id: str = "SBX10001", **changes: Any) -> RegisteredCoverage:
    """A coverage on file with the scenario member's payer (SBX001 for an id the sandbox's
    table does not have), primary, in force since 2020."""
    values: dict[str, Any] = {
        "coverage_id": uuid.uuid4(),
        "order": "primary",
        "payer_id": MEMBERS.get(member_id, {}).get("payer_id", "SBX001"),
        "member_id": member_id,
        "relationship_code": "18",
        "effective_date": "2020-01-01",
        **changes,
    }
    return RegisteredCoverage.model_validate(values)


def make_coverage_updated(
    patient_id: str, revision: int, coverages: list[RegisteredCoverage]
) -> CoverageUpdated:
    return CoverageUpdated(
        patient_id=patient_id,
        revision=revision,
        coverages=coverages,
        reason="registration",
        changed_by="frontdesk-1",
        changed_at=datetime.now(UTC),
    )


async def post_registry_check(
    client: httpx.AsyncClient, patient_id: str, headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    """A check with only the patient id and a date (today unless given): run from the registry."""
    body = {"patient_id": patient_id, "date_of_service": date.today().isoformat(), **extra}
    return await client.post(
        "/v1/eligibility/checks", json=body, headers={**WRITE, "Cache-Control": "no-cache", **(headers or {})}
    )


async def get_raw_x12(client: httpx.AsyncClient, check_id: str) -> dict[str, Any]:
    """The check's raw 270 and 271 (the `eligibility:x12` scope)."""
    response = await client.get(f"/v1/eligibility/checks/{check_id}/x12", headers=token("eligibility:x12"))
    assert response.status_code == 200, response.text
    return response.json()


def make_auth_body(patient: str, **changes: Any) -> dict[str, Any]:
    today = date.today()
    return {
        "patient_id": patient,
        "payer_id": "SBX001",
        "number": unique("PA").upper(),
        "service_codes": ["97110"],
        "start_date": (today - timedelta(days=30)).isoformat(),
        "end_date": (today + timedelta(days=30)).isoformat(),
        "visits_allowed": 3,
        **changes,
    }


def make_submitted(
    patient: str,
    number: str | None,
    *,
    claim_id: uuid.UUID | None = None,
    first_claim_id: uuid.UUID | None = None,
    frequency: str = "1",
    days_ago: int = 2,
) -> ClaimSubmitted:
    """claim.submitted as claims publishes it: one 97110 line whose REF*G1 is `number`."""
    claim_id = claim_id or uuid.uuid4()
    pcn = "C" + claim_id.hex[:16].upper()
    dos = date.today() - timedelta(days=days_ago)
    edi = sample_837(pcn, "SBX30001", [SampleLine("97110", "60.00", prior_auth=number)])
    return ClaimSubmitted(
        claim_id=claim_id,
        patient_control_number=pcn,
        patient_id=patient,
        payer_id="SBX001",
        frequency_code=frequency,
        total_charge=Decimal("60.00"),
        x12_837=edi,
        submitted_at=datetime.now(UTC),
        date_of_service=dos,
        lines=[
            ClaimLineSummary(
                line_number=1,
                code="97110",
                charge=Decimal("60.00"),
                date_of_service=dos,
                prior_authorization_number=number,
            )
        ],
        first_claim_id=first_claim_id,
    )
