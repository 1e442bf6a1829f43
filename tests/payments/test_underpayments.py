"""Underpayments as work (issue 15 item 9): each line paid below contract is open until a
person disputes it with the payer, and the dispute ends recovered (with the amount the
payer paid back) or accepted (the variance written off as accepted, with a reason). The
work queue pages by status; the report sums the variance per payer and status; a later
posting of the same claim with a higher allowed amount recovers it by itself."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import token, unique
from tests.payments.helpers import ALL, make_835, make_clp, make_svc, post_835, submit_claim, wait_for_charge

D = Decimal
PROBLEM = "application/problem+json"


async def _payer_with_contract(client) -> tuple[str, str]:
    """A payer of this test alone whose contract allows 100.00 for 99213."""
    payer, ident = unique("PAYER")[:20], unique("ID")[:20]
    await client.put(
        f"/v1/payers/{payer}", json={"name": "Underpaying payer", "identifiers": [ident]}, headers=ALL
    )
    loaded = await client.put(
        f"/v1/fee-schedules/{payer}",
        params={"effective_date": "2025-01-01"},
        json={"entries": [{"code": "99213", "allowed": "100.00"}]},
        headers=ALL,
    )
    assert loaded.status_code == 200, loaded.text
    return payer, ident


async def _underpaid_claim(
    client, producer, payer: str, ident: str, *, pccn: str = "ICN-U"
) -> tuple[str, str]:
    """A claim whose 99213 line the payer allowed at 90.00 (contract 100.00): one open
    underpayment of 10.00. Returns (claim id, pcn)."""
    account, pcn = unique("acct"), unique("P")[:17]
    claim_id = await submit_claim(producer, pcn=pcn, account=account, payer=payer, charge="120.00")
    await wait_for_charge(client, account, "120.00")
    claim = make_clp(pcn, "1", "120", "70", "20", pccn=pccn)
    claim += make_svc("HC:99213", "120", "70", [("PR", "1", "20"), ("CO", "45", "30")], allowed="90")
    resp = await post_835(client, make_835(unique("TRN"), [claim], payer_ref=ident))
    assert resp.status_code == 201, resp.text
    return str(claim_id), pcn


async def _the_underpayment(client, claim_id: str) -> dict:
    (row,) = (await client.get("/v1/underpayments", params={"claim_id": claim_id}, headers=ALL)).json()[
        "items"
    ]
    return row


async def test_dispute_then_recover_or_accept_and_illegal_steps_are_409(service, producer):
    async with service("payments") as (_, client):
        payer, ident = await _payer_with_contract(client)
        claim_a, _ = await _underpaid_claim(client, producer, payer, ident)
        claim_b, _ = await _underpaid_claim(client, producer, payer, ident)
        under = await _the_underpayment(client, claim_a)
        assert under["status"] == "open" and D(under["variance"]) == D("10.00")
        path = f"/v1/underpayments/{under['id']}"

        # The work queue: open items of this payer, paged.
        queue = await client.get(
            "/v1/underpayments", params={"status": "open", "payer_id": payer, "limit": 1}, headers=ALL
        )
        assert queue.status_code == 200 and len(queue.json()["items"]) == 1 and queue.json()["next_cursor"]
        second = await client.get(
            "/v1/underpayments",
            params={"status": "open", "payer_id": payer, "limit": 1, "cursor": queue.json()["next_cursor"]},
            headers=ALL,
        )
        assert {queue.json()["items"][0]["claim_id"], second.json()["items"][0]["claim_id"]} == {
            claim_a,
            claim_b,
        }

        # Nothing is recovered or accepted before it was disputed with the payer.
        early = await client.post(f"{path}/recover", json={"amount": "10.00"}, headers=ALL)
        assert early.status_code == 409 and early.headers["content-type"].startswith(PROBLEM)
        assert early.json()["type"].endswith("/illegal-transition")
        early = await client.post(f"{path}/accept", json={"reason": "small"}, headers=ALL)
        assert early.status_code == 409

        disputed = await client.post(
            f"{path}/dispute",
            json={"note": "Allowed below the 2025 contract", "reference": "APPEAL-7"},
            headers=ALL,
        )
        assert disputed.status_code == 200, disputed.text
        body = disputed.json()
        assert body["status"] == "disputed" and body["dispute_reference"] == "APPEAL-7"
        assert (await client.post(f"{path}/dispute", json={"note": "again"}, headers=ALL)).status_code == 409
        assert (
            await client.get(
                "/v1/underpayments", params={"status": "disputed", "payer_id": payer}, headers=ALL
            )
        ).json()["items"][0]["id"] == under["id"]

        too_much = await client.post(f"{path}/recover", json={"amount": "10.01"}, headers=ALL)
        assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "body.amount"
        recovered = await client.post(f"{path}/recover", json={"amount": "10.00"}, headers=ALL)
        assert recovered.status_code == 200, recovered.text
        assert recovered.json()["status"] == "recovered" and D(recovered.json()["recovered_amount"]) == D(
            "10.00"
        )
        accept_after = await client.post(f"{path}/accept", json={"reason": "late"}, headers=ALL)
        assert accept_after.status_code == 409

        # Each step is kept on the item and in the audit trail; a read-only token cannot act.
        detail = (await client.get(path, headers=ALL)).json()
        assert [(h["from_status"], h["to_status"]) for h in detail["history"]] == [
            ("open", "disputed"),
            ("disputed", "recovered"),
        ]
        trail = (
            await client.get(
                "/v1/audit", params={"resource_type": "underpayment", "resource_id": under["id"]}, headers=ALL
            )
        ).json()
        assert {e["action"] for e in trail} >= {"dispute", "recover"}
        refused = await client.post(
            f"/v1/underpayments/{second.json()['items'][0]['id']}/dispute",
            json={"note": "x"},
            headers=token("payments:read"),
        )
        assert refused.status_code == 403
        nobody = "/v1/underpayments/00000000-0000-4000-8000-000000000000/dispute"
        assert (await client.post(nobody, json={"note": "x"}, headers=ALL)).status_code == 404


async def test_the_report_sums_the_variance_per_payer_and_status(service, producer):
    """Accepting writes the variance off as accepted (with a reason); recovering may be
    partial. The report sums, per payer and status, the variance and what was recovered and
    accepted."""
    async with service("payments") as (_, client):
        payer, ident = await _payer_with_contract(client)
        claims = [(await _underpaid_claim(client, producer, payer, ident))[0] for _ in range(3)]
        recovered, accepted, _ = [await _the_underpayment(client, c) for c in claims]
        for item in (recovered, accepted):
            await client.post(
                f"/v1/underpayments/{item['id']}/dispute",
                json={"note": "asked for reprocessing"},
                headers=ALL,
            )
        partly = await client.post(
            f"/v1/underpayments/{recovered['id']}/recover", json={"amount": "4.00"}, headers=ALL
        )
        assert partly.json()["status"] == "recovered" and D(partly.json()["recovered_amount"]) == D("4.00")
        path = f"/v1/underpayments/{accepted['id']}"
        assert (await client.post(f"{path}/accept", json={}, headers=ALL)).status_code == 422
        done = await client.post(
            f"{path}/accept", json={"reason": "payer upheld its rate; below appeal threshold"}, headers=ALL
        )
        assert done.status_code == 200 and done.json()["status"] == "accepted"
        assert D(done.json()["accepted_amount"]) == D("10.00")
        assert done.json()["accepted_reason"] == "payer upheld its rate; below appeal threshold"

        report = await client.get("/v1/reports/underpayments", params={"payer_id": payer}, headers=ALL)
        assert report.status_code == 200, report.text
        rows = {r["status"]: r for r in report.json()["rows"]}
        assert {r["payer_id"] for r in report.json()["rows"]} == {payer}
        assert {
            status: (r["count"], D(r["variance"]), D(r["recovered"]), D(r["accepted"]))
            for status, r in rows.items()
        } == {
            "open": (1, D("10.00"), D(0), D(0)),
            "recovered": (1, D("10.00"), D("4.00"), D(0)),
            "accepted": (1, D("10.00"), D(0), D("10.00")),
        }


async def test_a_later_posting_with_a_higher_allowed_amount_recovers_it(service, producer):
    """The payer reprocesses the claim (835 CLP02 = 22 reversal of the first payment, then the
    claim again) and now allows the contracted 100.00: the underpayment is recovered by that
    posting, with the amount the allowed amount went up by, and no new one is opened."""
    async with service("payments") as (_, client):
        payer, ident = await _payer_with_contract(client)
        pccn = unique("ICN")[:20]
        claim_id, pcn = await _underpaid_claim(client, producer, payer, ident, pccn=pccn)
        under = await _the_underpayment(client, claim_id)
        await client.post(f"/v1/underpayments/{under['id']}/dispute", json={"note": "rate"}, headers=ALL)

        reversal = make_clp(pcn, "22", "-120", "-70", "-20", pccn=pccn)
        reversal += make_svc(
            "HC:99213", "-120", "-70", [("PR", "1", "-20"), ("CO", "45", "-30")], allowed="-90"
        )
        again = make_clp(pcn, "1", "120", "80", "20", pccn=pccn)
        again += make_svc("HC:99213", "120", "80", [("PR", "1", "20"), ("CO", "45", "20")], allowed="100")
        resp = await post_835(client, make_835(unique("TRN"), [reversal, again], payer_ref=ident))
        assert resp.status_code == 201, resp.text
        new_posting = resp.json()["remittances"][0]["matched"][1]["posting_id"]

        rows = (await client.get("/v1/underpayments", params={"claim_id": claim_id}, headers=ALL)).json()[
            "items"
        ]
        assert [(r["id"], r["status"], D(r["recovered_amount"])) for r in rows] == [
            (under["id"], "recovered", D("10.00"))
        ]
        detail = (await client.get(f"/v1/underpayments/{under['id']}", headers=ALL)).json()
        assert detail["history"][-1]["to_status"] == "recovered"
        assert detail["history"][-1]["posting_id"] == new_posting
