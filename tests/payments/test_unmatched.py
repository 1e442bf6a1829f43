"""The unmatched queue (issue 15, items 18 and 4): what a person needs to find the claim a
parked remittance claim pays, and matching it by hand only to a claim of the same payer.

835 005010X221A1 loop 2100: CLP (CLP01 our patient control number, CLP03 charge, CLP04 paid,
CLP05 patient responsibility, CLP07 the payer's claim control number), CAS (claim
adjustments), NM1*QC (the patient: NM103 last name, NM104 first name, NM109 the patient's
member id when the payer keeps one), NM1*IL (the insured subscriber, NM109 the member id),
DTM*232/DTM*233 (claim statement period start and end); loop 2110 SVC with DTM*472 (the
line's date of service) and its CAS. The payer and the trace (TRN02) and the payment date
(BPR16) belong to the remittance. All of that is PHI: the worklist is scoped and audited,
and none of it is logged.

Matching by hand moves a payer's money onto a claim: it must be that payer's claim (the
practice's rule; a claim matched across payers put an account's insurance bucket at -$400),
unless staff override it with a reason that a second person approves.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

from shared import x12
from tests.conftest import token, unique
from tests.payments.helpers import (
    ALL,
    get_account,
    make_835,
    make_clp,
    make_svc,
    post_835,
    submit_claim,
    wait_for_charge,
)

D = Decimal
PATIENT, SUBSCRIBER = ("RIVERA", "ANA", "W123456701"), ("RIVERA", "LUIS", "W123456700")


def make_researchable_clp(pcn: str, pccn: str = "ICN-R-1") -> list[list[str]]:
    """A CLP with its patient, subscriber, statement dates and two adjudicated lines (balanced:
    200 = 150 paid + CO-45 10 + PR-2 40)."""
    clp = make_clp(pcn, "1", "200.00", "150.00", "40.00", pccn=pccn)
    clp.append(x12.seg("NM1", "QC", "1", PATIENT[0], PATIENT[1], "", "", "", "MI", PATIENT[2]))
    clp.append(x12.seg("NM1", "IL", "1", SUBSCRIBER[0], SUBSCRIBER[1], "", "", "", "MI", SUBSCRIBER[2]))
    clp.append(x12.seg("DTM", "232", "20260105"))
    clp.append(x12.seg("DTM", "233", "20260106"))
    clp += make_svc("HC:99213", "120.00", "90.00", [("CO", "45", "10.00"), ("PR", "2", "20.00")])
    clp.insert(len(clp) - 2, x12.seg("DTM", "472", "20260105"))
    clp += make_svc("HC:93000", "80.00", "60.00", [("PR", "2", "20.00")])
    clp.insert(len(clp) - 1, x12.seg("DTM", "472", "20260106"))
    return clp


async def park(client: Any, pcn: str, payer_ref: str = "SBX001") -> tuple[dict[str, Any], dict[str, Any]]:
    """Post an 835 whose one claim has no claim here; returns (remittance summary, queue item)."""
    trace = unique("TRN")
    summary = (
        await post_835(client, make_835(trace, [make_researchable_clp(pcn)], payer_ref=payer_ref))
    ).json()
    (remittance,) = summary["remittances"]
    queue = (
        await client.get("/v1/unmatched", params={"remittance_id": remittance["id"]}, headers=ALL)
    ).json()
    (item,) = queue["items"]
    return remittance, item


async def test_the_worklist_shows_what_finds_the_claim_and_keeps_it_out_of_logs(service, caplog):
    caplog.set_level(logging.DEBUG)
    pcn = unique("Z")[:17]
    async with service("payments") as (_, client):
        remittance, item = await park(client, pcn)
        assert item["patient_control_number"] == pcn and item["payer_claim_control_number"] == "ICN-R-1"
        assert item["patient"] == {"last_name": "RIVERA", "first_name": "ANA", "member_id": "W123456701"}
        assert item["subscriber"] == {"last_name": "RIVERA", "first_name": "LUIS", "member_id": "W123456700"}
        assert (item["service_date_from"], item["service_date_to"]) == ("2026-01-05", "2026-01-06")
        assert [(line["code"], line["service_date"]) for line in item["lines"]] == [
            ("99213", "2026-01-05"),
            ("93000", "2026-01-06"),
        ]
        assert (D(item["charge"]), D(item["paid"]), D(item["patient_responsibility"])) == (200, 150, 40)
        assert {(a["group_code"], a["reason_code"]): D(a["amount"]) for a in item["adjustments"]} == {
            ("CO", "45"): D("10.00"),
            ("PR", "2"): D("40.00"),
        }
        assert item["payer_id"] == "SBX001" and item["trace_number"] == remittance["trace_number"]
        assert item["remittance_date"] == "2026-01-10"
        # The remittance's own view shows the parked claim's adjustments too (they were []).
        view = (await client.get(f"/v1/remittances/{remittance['id']}", headers=ALL)).json()
        (parked,) = view["unmatched"]
        assert {(a["group_code"], a["reason_code"]) for a in parked["adjustments"]} == {
            ("CO", "45"),
            ("PR", "2"),
        }

        # Scoped and audited.
        refused = await client.get("/v1/unmatched", headers=token("payments:write"))
        assert refused.status_code == 403
        audit = (
            await client.get("/v1/audit", params={"resource_type": "unmatched_claim"}, headers=ALL)
        ).json()
        assert any(e["action"] == "list" and e["outcome"] == "success" for e in audit)
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for phi in (*PATIENT, *SUBSCRIBER):
        assert phi not in logged


async def test_matching_by_hand_needs_the_remittances_payer(service, producer):
    account = unique("acct")
    async with service("payments") as (_, client):
        other_payers = await submit_claim(
            producer, pcn=unique("Q")[:17], account=account, payer="SBX002", charge="200.00"
        )
        await wait_for_charge(client, account, "200.00")
        _, item = await park(client, unique("Z")[:17])

        preview = await client.get(
            f"/v1/unmatched/{item['id']}/match-preview", params={"claim_id": str(other_payers)}, headers=ALL
        )
        assert preview.status_code == 200, preview.text
        check = preview.json()
        assert check["remittance"]["payer_id"] == "SBX001" and check["claim"]["payer_id"] == "SBX002"
        assert D(check["claim"]["insurance_open"]) == D("200.00") and D(check["remittance"]["paid"]) == 150
        assert check["override_required"] is True
        assert [m["rule"] for m in check["mismatches"] if m["hard"]] == ["same_payer"]

        refused = await client.post(
            f"/v1/unmatched/{item['id']}/match", json={"claim_id": str(other_payers)}, headers=ALL
        )
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["errors"]
        assert (error["field"], error["rule"]) == ("body.claim_id", "same_payer")
        assert (await get_account(client, account))["insurance_pending"] == "200.00"  # nothing moved


async def test_a_match_shows_the_amounts_side_by_side_warns_and_audits_both_ids(service, producer):
    account = unique("acct")
    async with service("payments") as (_, client):
        # The payer's CLP01 lost a character, and the charge differs: warnings, not refusals.
        claim_id = await submit_claim(
            producer, pcn=unique("Q")[:17], account=account, payer="SBX001", charge="210.00"
        )
        await wait_for_charge(client, account, "210.00")
        _, item = await park(client, unique("Z")[:17])
        done = await client.post(
            f"/v1/unmatched/{item['id']}/match", json={"claim_id": str(claim_id)}, headers=ALL
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["claim_id"] == str(claim_id) and uuid.UUID(body["posting_id"])
        assert (D(body["remittance"]["charge"]), D(body["claim"]["charge"])) == (D("200.00"), D("210.00"))
        assert {m["rule"] for m in body["mismatches"]} == {"same_patient_control_number", "same_charge"}
        assert not any(m["hard"] for m in body["mismatches"])
        audit = (await client.get("/v1/audit", params={"patient_id": account}, headers=ALL)).json()
        matched = {(e["resource_type"], e["resource_id"]) for e in audit if e["action"] == "match"}
        assert {("unmatched_claim", item["id"]), ("claim", str(claim_id))} <= matched


async def test_another_payers_claim_is_matched_only_with_an_approved_override(service, producer):
    account = unique("acct")
    clerk = token("payments:read", "payments:write", subject="clerk-a")
    manager = token("payments:read", "payments:approve", subject="manager-b")
    async with service("payments") as (_, client):
        claim_id = await submit_claim(
            producer, pcn=unique("Q")[:17], account=account, payer="SBX002", charge="200.00"
        )
        await wait_for_charge(client, account, "200.00")
        _, item = await park(client, unique("Z")[:17])
        body = {"claim_id": str(claim_id), "override_reason": "payer sent it under its parent plan's id"}
        asked = await client.post(f"/v1/unmatched/{item['id']}/match", json=body, headers=clerk)
        assert asked.status_code == 202, asked.text
        approval = asked.json()
        assert approval["kind"] == "match_override"
        assert (approval["summary"]["unmatched_id"], approval["summary"]["claim_id"]) == (
            item["id"],
            str(claim_id),
        )
        assert (
            approval["summary"]["remittance_payer_id"] == "SBX001"
            and approval["summary"]["claim_payer_id"] == "SBX002"
        )
        assert (await get_account(client, account))["insurance_pending"] == "200.00"  # nothing moved yet

        assert (
            await client.post(f"/v1/approvals/{approval['id']}/approve", headers=clerk)
        ).status_code == 403
        done = await client.post(f"/v1/approvals/{approval['id']}/approve", headers=manager)
        assert done.status_code == 200, done.text
        assert uuid.UUID(done.json()["result"]["posting_id"])
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["patient_due"]) == ("0.00", "40.00")
        audit = (await client.get("/v1/audit", params={"patient_id": account}, headers=ALL)).json()
        overridden = {
            (e["resource_type"], e["resource_id"]) for e in audit if e["action"] == "match_override"
        }
        assert overridden == {("unmatched_claim", item["id"]), ("claim", str(claim_id))}
        queue = (
            await client.get("/v1/unmatched", params={"remittance_id": item["remittance_id"]}, headers=ALL)
        ).json()
        assert queue["items"] == []
