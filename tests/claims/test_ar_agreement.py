"""Claims' A/R and payments' insurance A/R agree, to the cent, per payer, after a mixed day
(issue 15, item 5), through the real interfaces: claims made and sent over HTTP, their
claim.submitted consumed by payments, 835s uploaded to payments over HTTP, their
payment.posted consumed by claims, denials worked in payments and told to claims.

The day (835 005010X221A1 loop 2100 CLP02, CAS group codes):
  * paid with CO-45 and PR-3 (contractual write-down; the copay is the patient's);
  * partial: paid, with a CO-16 line denial;
  * CO-197 denied in full (CLP02 = 4);
  * PR-96 denied (non-covered: the patient's under the plan once billed to them);
  * paid, then reversed (CLP02 = 22) and paid again in a later 835;
  * a primary that leaves coinsurance, billed to the secondary payer (SBX002), which then pays
    part and leaves the rest to the patient.
Both reports are read for the day's patients only: the test database and the shared broker hold
other tests' claims too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.claims.helpers import get_claim_if, get_claims, make_claim, post_submitted_claim
from tests.conftest import eventually, token, unique
from tests.payments.helpers import make_835, make_clp, make_headers, post_835

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "payments_consumer_from_now")
RW = token("claims:read", "claims:write")
PAY = token("payments:read", "payments:write", "payments:admin")
D = Decimal
PAYERS = ("SBX001", "SBX002")  # (SBX003 is test_flow's own: its KPIs count every SBX003 claim of the day)


async def claims_ar(client: Any, patients: list[str]) -> dict[str, D]:
    """Claims' A/R per payer over these patients' claims (the test database and the shared
    broker hold other tests' claims too)."""
    total = {p: D(0) for p in PAYERS}
    for patient in patients:
        report = (await client.get("/v1/reports/ar-aging", params={"patient_id": patient}, headers=RW)).json()
        for p in report["payers"]:
            total[p["payer_id"]] += D(p["total"]["balance"])
    return total


async def payments_ar(client: Any, accounts: list[str]) -> dict[str, D]:
    """Payments' insurance A/R per payer over these accounts."""
    total = {p: D(0) for p in PAYERS}
    for account in accounts:
        resp = await client.get("/v1/reports/insurance-ar", params={"account_id": account}, headers=PAY)
        assert resp.status_code == 200, resp.text
        for p in resp.json()["payers"]:
            total[p["payer_id"]] += D(p["total"]["balance"])
    return total


async def charged(pay: Any, account: str, amount: str) -> bool:
    view = (await pay.get(f"/v1/accounts/{account}", headers=PAY)).json()
    return view.get("insurance_pending") == amount


async def test_a_mixed_day_leaves_both_reports_equal_per_payer(claims, service, settings):
    async with claims() as (_, cl), service("payments") as (_, pay):
        made: dict[str, dict[str, Any]] = {}
        for name in ("paid", "partial", "co197", "pr96", "reversed", "cob", "corrected"):
            body = make_claim(unique("pat"))
            if name == "cob":
                body["subscriber"]["member_id"] = "SBX40002"
                body["other_coverages"] = [
                    {"payer_id": "SBX002", "member_id": "SBX40002S", "order": "secondary"}
                ]
            made[name] = await post_submitted_claim(cl, settings, body)
        for claim in made.values():
            await eventually(lambda c=claim: charged(pay, c["patient_id"], "175.00"), timeout=60)
        pcn = {name: c["patient_control_number"] for name, c in made.items()}

        first = make_835(
            unique("TRN"),
            [
                make_clp(
                    pcn["paid"], "1", "175", "115", "25", [("CO", "45", "35"), ("PR", "3", "25")], pccn="I-1"
                ),
                make_clp(
                    pcn["partial"], "1", "175", "80", "", [("CO", "45", "45"), ("CO", "16", "50")], pccn="I-2"
                ),
                make_clp(pcn["co197"], "4", "175", "0", "", [("CO", "197", "175")], pccn="I-3"),
                make_clp(
                    pcn["corrected"],
                    "1",
                    "175",
                    "80",
                    "",
                    [("CO", "45", "45"), ("CO", "16", "50")],
                    pccn="I-8",
                ),
                make_clp(pcn["reversed"], "1", "175", "140", "", [("CO", "45", "35")], pccn="I-5"),
                make_clp(
                    pcn["cob"], "1", "175", "100", "30", [("CO", "45", "45"), ("PR", "2", "30")], pccn="I-6"
                ),
            ],
        )
        assert (await post_835(pay, first)).status_code == 201
        non_covered = make_835(
            unique("TRN"), [make_clp(pcn["pr96"], "4", "175", "0", "175", [("PR", "96", "175")], pccn="I-4")]
        )
        assert (await post_835(pay, non_covered)).status_code == 201
        later = make_835(
            unique("TRN"),
            [
                make_clp(pcn["reversed"], "22", "-175", "-140", "", [("CO", "45", "-35")], pccn="I-5"),
                make_clp(pcn["reversed"], "1", "175", "150", "", [("CO", "45", "25")], pccn="I-5"),
            ],
        )
        assert (await post_835(pay, later)).status_code == 201
        for name, status in [
            ("paid", "paid"),
            ("partial", "partial"),
            ("co197", "denied"),
            ("pr96", "denied"),
        ]:
            await eventually(
                lambda n=name, s=status: get_claim_if(cl, made[n]["id"], s), what=f"{name} {status}"
            )

        async def repaid() -> bool:
            claim = await get_claim_if(cl, made["reversed"]["id"], "paid")
            return bool(claim) and claim["paid_amount"] == "150.00"

        await eventually(repaid, what="the reversed claim paid again")
        (secondary,) = await eventually(
            lambda: get_claims(
                cl, patient_id=made["cob"]["patient_id"], payer_id="SBX002", status="submitted"
            )
        )
        await eventually(
            lambda: charged(pay, made["cob"]["patient_id"], "30.00"), timeout=60, what="moved to SBX002"
        )

        patients = [c["patient_id"] for c in made.values()]
        expected = {"SBX001": D("450.00"), "SBX002": D("30.00")}
        assert await payments_ar(pay, patients) == expected
        assert await claims_ar(cl, patients) == expected

        # The secondary pays part of the coinsurance and leaves the rest to the patient (OA-23:
        # the prior payer's adjudication).
        text = make_835(
            unique("TRN"),
            [
                make_clp(
                    secondary["patient_control_number"],
                    "2",
                    "175",
                    "24",
                    "6",
                    [("OA", "23", "145"), ("PR", "2", "6")],
                    pccn="I-7",
                )
            ],
            payer_ref="SBX002",
        )
        assert (await post_835(pay, text)).status_code == 201
        await eventually(lambda: get_claim_if(cl, secondary["id"], "paid"), what="secondary paid")
        # The PR-96 denial is billed to the patient (payments, told to claims).
        billed = await pay.post(
            f"/v1/denials/{made['pr96']['id']}/bill-patient", json={}, headers={**PAY, **make_headers()}
        )
        assert billed.status_code == 201, billed.text
        await eventually(lambda: get_claim_if(cl, made["pr96"]["id"], "closed"), what="pr96 closed")

        expected = {"SBX001": D("275.00"), "SBX002": D("0.00")}
        assert await payments_ar(pay, patients) == expected
        assert await claims_ar(cl, patients) == expected

        # The CO-197 denial is written off, approved by a second person (payments, told to claims).
        clerk = token("payments:read", "payments:write", subject="clerk-a")
        manager = token("payments:read", "payments:approve", subject="manager-b")
        asked = await pay.post(
            f"/v1/denials/{made['co197']['id']}/write-off",
            json={"reason": "authorization never obtained"},
            headers=clerk,
        )
        assert asked.status_code == 202, asked.text
        done = await pay.post(f"/v1/approvals/{asked.json()['id']}/approve", headers=manager)
        assert done.status_code == 200, done.text
        await eventually(lambda: get_claim_if(cl, made["co197"]["id"], "closed"), what="co197 closed")

        # The CO-16 claim is corrected (frequency 7): the original's denied 50 is retired and the
        # replacement owes its 175; the payer reverses the original (CLP02 = 22) and pays the
        # replacement, in one 835: what the reversal puts back on the original is retired too.
        corrected = await cl.post(
            f"/v1/claims/{made['corrected']['id']}/corrections",
            json={"diagnoses": ["E11.9", "I10", "Z79.4"]},
            headers=RW,
        )
        assert corrected.status_code == 201, corrected.text
        replacement = corrected.json()
        account = made["corrected"]["patient_id"]
        await eventually(lambda: charged(pay, account, "175.00"), timeout=60, what="replacement charged")
        expected = {"SBX001": D("225.00"), "SBX002": D("0.00")}  # the partial's 50, the replacement's 175
        assert await payments_ar(pay, patients) == expected
        assert await claims_ar(cl, patients) == expected
        answer = make_835(
            unique("TRN"),
            [
                make_clp(
                    pcn["corrected"],
                    "22",
                    "-175",
                    "-80",
                    "",
                    [("CO", "45", "-45"), ("CO", "16", "-50")],
                    pccn="I-8",
                ),
                make_clp(
                    replacement["patient_control_number"],
                    "1",
                    "175",
                    "140",
                    "",
                    [("CO", "45", "35")],
                    pccn="I-9",
                ),
            ],
        )
        assert (await post_835(pay, answer)).status_code == 201
        await eventually(lambda: get_claim_if(cl, replacement["id"], "paid"), what="replacement paid")
        await eventually(
            lambda: get_claim_if(cl, made["corrected"]["id"], "replaced"), what="original replaced"
        )

        expected = {"SBX001": D("50.00"), "SBX002": D("0.00")}
        assert await payments_ar(pay, patients) == expected
        assert await claims_ar(cl, patients) == expected
