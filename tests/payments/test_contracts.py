"""Contracts: a fee schedule loaded as CSV and JSON (fee_schedule.updated on Kafka), and a
line paid below contract beyond tolerance (payment.underpaid, GET /v1/underpayments)."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.conftest import end_offsets, read_from, unique
from tests.payments.helpers import ALL, make_835, make_clp, make_svc, post_835, submit_claim, wait_for_charge

D = Decimal


async def test_fee_schedule_and_underpayment(service, producer, servers):
    payer, ident = unique("PAYER")[:20], unique("ID")[:20]
    fee_start = await end_offsets(servers.kafka_bootstrap, "fee_schedule.updated")
    under_start = await end_offsets(servers.kafka_bootstrap, "payment.underpaid")
    async with service("payments") as (_, client):
        await client.put(
            f"/v1/payers/{payer}", json={"name": "Contract test payer", "identifiers": [ident]}, headers=ALL
        )
        bad = await client.put(
            f"/v1/fee-schedules/{payer}",
            content="code;allowed\n99213;x\n",
            headers={**ALL, "Content-Type": "text/csv"},
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body"
        csv_body = "code,modifier,allowed\n99213,,80.00\n99214,25,150.00\n"
        loaded = await client.put(
            f"/v1/fee-schedules/{payer}", content=csv_body, headers={**ALL, "Content-Type": "text/csv"}
        )
        assert loaded.status_code == 200 and loaded.json()["entries"] == 2
        # A newer load (JSON) replaces it.
        loaded = await client.put(
            f"/v1/fee-schedules/{payer}",
            json={
                "entries": [
                    {"code": "99213", "allowed": "100.00"},
                    {"code": "99214", "modifier": "25", "allowed": "150.00"},
                ]
            },
            headers=ALL,
        )
        assert loaded.status_code == 200
        schedule_id = loaded.json()["fee_schedule_id"]
        records = await read_from(
            servers.kafka_bootstrap,
            "fee_schedule.updated",
            fee_start,
            until=lambda rs: sum(r.key == payer.encode() for r in rs) >= 2,
        )
        latest = [json.loads(r.value) for r in records if r.key == payer.encode()][-1]
        assert latest["fee_schedule_id"] == schedule_id
        assert {(e["code"], e["modifier"], e["allowed"]) for e in latest["entries"]} == {
            ("99213", None, "100.00"),
            ("99214", "25", "150.00"),
        }

        account, pcn = unique("acct"), unique("P")[:17]
        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer=payer, charge="300.00")
        await wait_for_charge(client, account, "300.00")
        claim = make_clp(pcn, "1", "300", "200", "40")
        # 99213: allowed = paid 70 + PR 20 = 90 < 100 contracted (beyond tolerance max(1.00, 2%)).
        claim += make_svc("HC:99213", "120", "70", [("PR", "1", "20"), ("CO", "45", "30")])
        # 99214-25: AMT*B6 150 = contract: fine.
        claim += make_svc("HC:99214:25", "180", "130", [("PR", "2", "20"), ("CO", "45", "30")], allowed="150")
        text = make_835(unique("TRN"), [claim], payer_ref=ident)
        resp = await post_835(client, text)
        assert resp.status_code == 201, resp.text
        posting = resp.json()["remittances"][0]["matched"][0]

        listed = (
            await client.get("/v1/underpayments", params={"claim_id": str(claim_id)}, headers=ALL)
        ).json()["items"]
        assert [
            (u["code"], D(u["expected_allowed"]), D(u["actual_allowed"]), D(u["variance"])) for u in listed
        ] == [("99213", D("100.00"), D("90.00"), D("10.00"))]
        assert listed[0]["posting_id"] == posting["posting_id"]
        events = await read_from(
            servers.kafka_bootstrap,
            "payment.underpaid",
            under_start,
            until=lambda rs: any(r.key == str(claim_id).encode() for r in rs),
        )
        (event,) = [json.loads(r.value) for r in events if r.key == str(claim_id).encode()]
        assert event["payer_id"] == payer and event["code"] == "99213" and event["variance"] == "10.00"
