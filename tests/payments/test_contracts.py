"""Contracts: a fee schedule loaded as CSV and JSON (fee_schedule.updated on Kafka), and a
line paid below contract beyond tolerance (payment.underpaid, GET /v1/underpayments)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from shared import x12
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
        # Effective before the claim's date of service (2026-01-05): the version in effect on
        # that date is what the claim's lines are checked against.
        in_force = {"effective_date": "2025-07-01"}
        loaded = await client.put(
            f"/v1/fee-schedules/{payer}",
            content=csv_body,
            params=in_force,
            headers={**ALL, "Content-Type": "text/csv"},
        )
        assert loaded.status_code == 200 and loaded.json()["entries"] == 2
        # A newer load (JSON) adds a version that applies from the same date on.
        loaded = await client.put(
            f"/v1/fee-schedules/{payer}",
            json={
                "entries": [
                    {"code": "99213", "allowed": "100.00"},
                    {"code": "99214", "modifier": "25", "allowed": "150.00"},
                ]
            },
            params=in_force,
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


# --- versions, and the version in effect on the date of service (issue 15 item 8) ----------


async def _payer(client) -> tuple[str, str]:
    """A payer of this test alone (its own fee schedule versions and 835 identifier)."""
    payer, ident = unique("PAYER")[:20], unique("ID")[:20]
    await client.put(
        f"/v1/payers/{payer}", json={"name": "Versioned payer", "identifiers": [ident]}, headers=ALL
    )
    return payer, ident


async def _upload(client, payer: str, effective: str, rates: dict[str, str], *, method: str = "PUT"):
    body = {"entries": [{"code": c[:5], "modifier": c[6:] or None, "allowed": a} for c, a in rates.items()]}
    return await client.request(
        method, f"/v1/fee-schedules/{payer}", params={"effective_date": effective}, json=body, headers=ALL
    )


async def test_an_upload_adds_a_version_and_the_versions_are_listed(service, servers):
    """Practice policy (issue 15 item 8): a payer's contract rates change over time and a
    claim is paid under the rates in force when the service was given, so an upload never
    replaces a schedule: it adds a version (effective date, who uploaded it and when)."""
    fee_start = await end_offsets(servers.kafka_bootstrap, "fee_schedule.updated")
    async with service("payments") as (_, client):
        payer, _ = await _payer(client)
        first = await _upload(client, payer, "2025-01-01", {"99213": "80.00"})
        assert first.status_code == 200 and first.json()["version"] == 1
        second = await _upload(
            client, payer, "2026-01-01", {"99213": "100.00", "99214-25": "150.00"}, method="POST"
        )
        assert second.status_code == 201, second.text
        assert second.json()["version"] == 2
        assert second.headers["location"] == f"/v1/fee-schedules/{payer}/versions/2"
        third = await _upload(client, payer, "2026-01-01", {"99213": "110.00"})
        assert third.json()["version"] == 3 and third.json()["uploaded_by"] == "test-user"

        listed = await client.get(f"/v1/fee-schedules/{payer}", headers=ALL)
        assert listed.status_code == 200, listed.text
        versions = listed.json()["items"]
        assert [(v["version"], v["effective_date"], v["entries"]) for v in versions] == [
            (3, "2026-01-01", 1),
            (2, "2026-01-01", 2),
            (1, "2025-01-01", 1),
        ]
        assert all(v["uploaded_by"] == "test-user" and v["uploaded_at"] for v in versions)

        one = (await client.get(f"/v1/fee-schedules/{payer}/versions/2", headers=ALL)).json()
        assert one["version"] == 2 and one["effective_date"] == "2026-01-01"
        assert {(e["code"], e["modifier"], D(e["allowed"])) for e in one["rates"]} == {
            ("99213", None, D("100.00")),
            ("99214", "25", D("150.00")),
        }
        # Which version applies to a date of service: the latest effective date on or
        # before it, and among equal effective dates the latest upload.
        for dos, version in (("2025-06-01", 1), ("2026-03-01", 3)):
            chosen = await client.get(
                f"/v1/fee-schedules/{payer}/in-effect", params={"date_of_service": dos}, headers=ALL
            )
            assert chosen.json()["version"] == version, (dos, chosen.text)
        before_any = await client.get(
            f"/v1/fee-schedules/{payer}/in-effect", params={"date_of_service": "2024-12-31"}, headers=ALL
        )
        assert before_any.status_code == 404
        assert before_any.headers["content-type"].startswith("application/problem+json")
        missing = await client.get(f"/v1/fee-schedules/{payer}/versions/9", headers=ALL)
        assert missing.status_code == 404

        # Eligibility keeps consuming the same event; the version is an added optional field.
        records = await read_from(
            servers.kafka_bootstrap,
            "fee_schedule.updated",
            fee_start,
            until=lambda rs: sum(r.key == payer.encode() for r in rs) >= 3,
        )
        events = [json.loads(r.value) for r in records if r.key == payer.encode()]
        assert [e.get("version") for e in events] == [1, 2, 3]
        assert events[2]["effective_date"] == "2026-01-01" and events[2]["entries"] == [
            {"code": "99213", "modifier": None, "allowed": "110.00"}
        ]


async def test_posting_checks_each_line_against_the_version_in_effect_on_its_date_of_service(
    service, producer
):
    """Each line is compared with the rates in force on its date of service: 835 loop 2110
    DTM*472 (service date) when the payer gives it, else the claim's date of service; not the
    day the remittance happens to be posted."""
    async with service("payments") as (_, client):
        payer, ident = await _payer(client)
        await _upload(client, payer, "2025-01-01", {"99213": "80.00"})
        await _upload(client, payer, "2026-01-01", {"99213": "100.00"})
        await _upload(client, payer, "2026-01-01", {"99213": "110.00"})  # same date, later upload wins
        await _upload(client, payer, "2027-06-01", {"99213": "500.00"})  # not yet in effect for these

        account, pcn = unique("acct"), unique("P")[:17]
        claim_id = await submit_claim(
            producer, pcn=pcn, account=account, payer=payer, charge="240.00", date_of_service=date(2026, 1, 5)
        )
        await wait_for_charge(client, account, "240.00")
        claim = make_clp(pcn, "1", "240", "180", "", [])
        # Line 1 was given on 2025-06-01 (DTM*472): version 1 (80.00) applies; allowed 80 is on contract.
        line = make_svc("HC:99213", "120", "80", [("CO", "45", "40")], allowed="80")
        claim += [line[0], x12.seg("DTM", "472", "20250601"), *line[1:]]
        # Line 2 has no DTM*472: the claim's date of service (2026-01-05) → version 3 (110.00).
        claim += make_svc("HC:99213", "120", "100", [("CO", "45", "20")], allowed="100")
        resp = await post_835(client, make_835(unique("TRN"), [claim], payer_ref=ident))
        assert resp.status_code == 201, resp.text

        listed = (
            await client.get("/v1/underpayments", params={"claim_id": str(claim_id)}, headers=ALL)
        ).json()["items"]
        assert [(D(u["expected_allowed"]), D(u["actual_allowed"]), D(u["variance"])) for u in listed] == [
            (D("110.00"), D("100.00"), D("10.00"))
        ]
        assert (listed[0]["service_date"], listed[0]["fee_schedule_version"]) == ("2026-01-05", 3)
