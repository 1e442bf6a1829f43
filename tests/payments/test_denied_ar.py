"""Denials stay in insurance A/R until they are worked (issue 15, item 5), on payments' side.

835 005010X221A1 loop 2100/2110 CAS: CAS01 is the group code and CAS02 the CARC. Contractual
write-downs (CO-45, CO-253) and ordinary cost sharing (PR-1 deductible, PR-2 coinsurance,
PR-3 copay) are not denials: the write-down leaves the account, the cost sharing moves to the
patient. Anything else is a denial (CO-197: authorization absent; PR-96: non-covered, the
patient's under the plan). A denied amount stays with insurance, shown as denied, until it is
worked: appealed (it stays), corrected (the replacement claim retires it), written off with a
second person's approval, or billed to the patient where the group code allows (PR only: CO
means the provider may not bill the patient). Working it is told to claims (denial.resolved).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from tests.conftest import read_from, token, unique
from tests.payments.helpers import (
    ALL,
    get_account,
    kafka_offsets,
    make_835,
    make_clp,
    make_headers,
    post_835,
    submit_claim,
    wait_for_charge,
)

D = Decimal


async def get_insurance_ar(client: Any, account: str) -> dict[str, D]:
    """Payments' insurance A/R per payer, today, of one account (the shared broker brings other
    people's claims to this test's payments service)."""
    resp = await client.get("/v1/reports/insurance-ar", params={"account_id": account}, headers=ALL)
    assert resp.status_code == 200, resp.text
    return {p["payer_id"]: D(p["total"]["balance"]) for p in resp.json()["payers"]}


async def test_a_denial_stays_in_insurance_ar_until_billed_to_the_patient_where_pr_allows(
    service, producer, servers
):
    account = unique("acct")
    pcns = {name: unique(name)[:17] for name in ("paid", "co197", "pr96")}
    async with service("payments") as (_, client):
        before_report = await client.get(
            "/v1/reports/insurance-ar", params={"account_id": account}, headers=ALL
        )
        claims = {
            name: await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge=charge)
            for (name, pcn), charge in zip(pcns.items(), ("150.00", "120.00", "80.00"), strict=True)
        }
        await wait_for_charge(client, account, "350.00")
        text = make_835(
            unique("TRN"),
            [
                make_clp(pcns["paid"], "1", "150", "105", "25", [("CO", "45", "20"), ("PR", "3", "25")]),
                make_clp(pcns["co197"], "4", "120", "0", "", [("CO", "197", "120")], pccn="ICN-197"),
                make_clp(pcns["pr96"], "4", "80", "0", "80", [("PR", "96", "80")], pccn="ICN-96"),
            ],
        )
        assert (await post_835(client, text)).status_code == 201
        view = await get_account(client, account)
        # CO-45 written down, PR-3 with the patient; both denials still with insurance, as denied.
        assert (view["insurance_pending"], view["patient_due"]) == ("200.00", "25.00")
        assert (view["insurance_pending"], view["insurance_denied"], view["patient_due"]) == (
            "200.00",
            "200.00",
            "25.00",
        )
        items = {i["claim_id"]: i for i in view["items"]}
        assert (
            items[str(claims["co197"])]["insurance_denied"],
            items[str(claims["pr96"])]["insurance_denied"],
        ) == (
            "120.00",
            "80.00",
        )
        assert before_report.status_code == 200, before_report.text
        before = {p["payer_id"]: D(p["total"]["balance"]) for p in before_report.json()["payers"]}
        after = await get_insurance_ar(client, account)
        assert after["SBX001"] - before.get("SBX001", D(0)) == D("200.00")

        # CO: the provider may not bill the patient.
        refused = await client.post(
            f"/v1/denials/{claims['co197']}/bill-patient", json={}, headers=make_headers()
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["rule"] == "patient_billable_group"
        # PR-96: the patient's under the plan, billed once worked; claims is told.
        start = await kafka_offsets(servers, ("denial.resolved",))
        billed = await client.post(
            f"/v1/denials/{claims['pr96']}/bill-patient",
            json={"note": "non-covered, ABN on file"},
            headers=make_headers(),
        )
        assert billed.status_code == 201, billed.text
        assert (billed.json()["resolution"], billed.json()["amount"]) == ("billed_patient", "80.00")
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["insurance_denied"], view["patient_due"]) == (
            "120.00",
            "120.00",
            "105.00",
        )
        records = await read_from(
            servers.kafka_bootstrap,
            "denial.resolved",
            start["denial.resolved"],
            until=lambda rs: any(r.key == str(claims["pr96"]).encode() for r in rs),
        )
        (event,) = [json.loads(r.value) for r in records if r.key == str(claims["pr96"]).encode()]
        assert (event["resolution"], event["amount"], event["payer_id"]) == (
            "billed_patient",
            "80.00",
            "SBX001",
        )
        again = await client.post(
            f"/v1/denials/{claims['pr96']}/bill-patient", json={}, headers=make_headers()
        )
        assert again.status_code == 409  # nothing denied is left on it
        assert (await get_insurance_ar(client, account))["SBX001"] - before.get("SBX001", D(0)) == D("120.00")


async def test_the_insurance_ar_report_is_the_insurance_ledger_per_payer_as_of_a_date(service, producer):
    account = unique("acct")
    async with service("payments") as (_, client):
        before = await get_insurance_ar(client, account)
        await submit_claim(producer, pcn=unique("A")[:17], account=account, payer="SBX003", charge="99.00")
        await wait_for_charge(client, account, "99.00")
        after = await get_insurance_ar(client, account)
        assert after["SBX003"] - before.get("SBX003", D(0)) == D("99.00")
        report = (
            await client.get("/v1/reports/insurance-ar", params={"as_of": "2000-01-01"}, headers=ALL)
        ).json()
        assert report["as_of"] == "2000-01-01" and report["payers"] == []
        today = (await client.get("/v1/reports/insurance-ar", headers=ALL)).json()
        assert today["as_of"] == str(date.today())
        assert D(today["total"]["balance"]) == sum((D(p["total"]["balance"]) for p in today["payers"]), D(0))


async def test_a_denial_is_written_off_only_with_a_second_persons_approval(service, producer, servers):
    account, pcn = unique("acct"), unique("W")[:17]
    clerk = token("payments:read", "payments:write", "payments:approve", subject="clerk-a")
    manager = token("payments:read", "payments:approve", subject="manager-b")
    async with service("payments") as (_, client):
        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="120.00")
        await wait_for_charge(client, account, "120.00")
        text = make_835(unique("TRN"), [make_clp(pcn, "4", "120", "0", "", [("CO", "197", "120")])])
        assert (await post_835(client, text)).status_code == 201
        too_much = await client.post(
            f"/v1/denials/{claim_id}/write-off", json={"reason": "no auth", "amount": "121.00"}, headers=clerk
        )
        assert too_much.status_code == 422
        asked = await client.post(
            f"/v1/denials/{claim_id}/write-off", json={"reason": "auth never obtained"}, headers=clerk
        )
        assert asked.status_code == 202, asked.text
        approval = asked.json()
        assert asked.headers["Location"] == f"/v1/approvals/{approval['id']}"
        assert (approval["kind"], approval["summary"]["amount"]) == ("denial_write_off", "120.00")
        assert (await get_account(client, account))["insurance_denied"] == "120.00"  # nothing moved yet

        own = await client.post(f"/v1/approvals/{approval['id']}/approve", headers=clerk)
        assert own.status_code == 403
        start = await kafka_offsets(servers, ("denial.resolved",))
        done = await client.post(f"/v1/approvals/{approval['id']}/approve", headers=manager)
        assert done.status_code == 200, done.text
        assert done.json()["result"]["resolution"] == "written_off"
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["insurance_denied"], view["balance"]) == (
            "0.00",
            "0.00",
            "0.00",
        )
        records = await read_from(
            servers.kafka_bootstrap,
            "denial.resolved",
            start["denial.resolved"],
            until=lambda rs: any(r.key == str(claim_id).encode() for r in rs),
        )
        (event,) = [json.loads(r.value) for r in records if r.key == str(claim_id).encode()]
        assert (event["resolution"], event["amount"], event["approval_id"]) == (
            "written_off",
            "120.00",
            approval["id"],
        )
