"""835 posting on real PostgreSQL and Kafka: every shared sample file, duplicates by HTTP
and by Kafka, reversals, malformed files, the unmatched queue and the raw file's access."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import pytest

from shared.events import new_event
from shared.events.catalogue import RemittanceReceived
from tests.conftest import X12_SAMPLES, encode_signed, end_offsets, eventually, read_from, token, unique
from tests.payments.helpers import (
    ALL,
    get_account,
    get_ledger,
    make_835,
    make_clp,
    post_835,
    put_payer,
    submit_claim,
    wait_for_charge,
)

SAMPLES = X12_SAMPLES / "835_005010X221A1"

D = Decimal

# Payers of the public samples, by what their 835s carry (TRN03, REF*2U).
SAMPLE_PAYERS = {
    "SAMPLE-TAXDOLLARS": ["1566339911", "1559123456"],
    "SAMPLE-RUSHMORE": ["1935665544"],
    "SAMPLE-TIMBUCKTU": ["999"],
}

# Hand-checked from the files: per claim (PCN) the paid amount, patient responsibility and
# adjustments by (group, reason) summed over claim and line CAS.
EXPECTED = {
    "cob-contractural-adjustment.835": {
        "payer": "SAMPLE-TAXDOLLARS",
        "bpr": "34.00",
        "plb": "0.00",
        "claims": {
            "0001000055": ("541.00", "34.00", "0.00", {("OA", "23"): "516.00", ("OA", "94"): "-9.00"}),
        },
    },
    "managed-care.835": {
        "payer": "SAMPLE-RUSHMORE",
        "bpr": "945.00",
        "plb": "0.00",
        "claims": {
            "5554555444": ("800.00", "450.00", "300.00", {("CO", "A2"): "50.00", ("PR", "1"): "300.00"}),
            "8765432112": (
                "1200.00",
                "495.00",
                "600.00",
                {("CO", "A2"): "55.00", ("PR", "1"): "600.00", ("CO", "45"): "50.00"},
            ),
        },
    },
    "medicare-part-a.835": {
        "payer": "SAMPLE-TIMBUCKTU",
        "bpr": "150000.00",
        "plb": "-1.27",  # PLB CV:CP -1.27 adds 1.27 to the deposit
        "claims": {
            "666123": ("211366.97", "138018.40", "0.00", {("CO", "45"): "73348.57"}),
            "777777": ("15000.00", "11980.33", "0.00", {("CO", "45"): "3019.67"}),
        },
    },
    "secondary-payment.835": {
        "payer": "SAMPLE-TAXDOLLARS",
        "bpr": "1222.00",
        "plb": "0.00",
        "claims": {
            "L0004828311": ("10323.64", "912.00", "0.00", {("OA", "23"): "9411.64"}),
            "0001000053": (
                "751.50",
                "310.00",
                "220.00",
                {("OA", "23"): "136.50", ("PR", "1"): "150.00", ("PR", "2"): "70.00", ("CO", "42"): "85.00"},
            ),
        },
        # Left without a claim on purpose: it waits in the unmatched queue, then is matched by hand.
        "unmatched": ["L0004828311"],
    },
    "tertiary-payment.835": {
        "payer": "SAMPLE-TAXDOLLARS",
        "bpr": "187.50",
        "plb": "0.00",
        "claims": {"0001000054": ("1766.50", "187.50", "0.00", {("OA", "23"): "1579.00"})},
    },
}


def test_every_sample_file_has_expectations():
    assert sorted(p.name for p in SAMPLES.iterdir()) == sorted(EXPECTED)


def adjustments(line: dict) -> dict[tuple[str, str], str]:
    return {(a["group_code"], a["reason_code"]): str(D(a["amount"])) for a in line["adjustments"]}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_sample_835_posts_and_ties_out(name, service, producer):
    """Must-show: every public sample 835 posts. Its payer is first unknown (item 3): the file
    is kept in the "payer needed" queue with the payer's name (N1*PR N102) and identifiers
    (N104, REF*2U, TRN03); mapping the payer posts it in that same request."""
    expected = EXPECTED[name]
    payer = expected["payer"]
    async with service("payments") as (_, client):
        for other, identifiers in SAMPLE_PAYERS.items():
            # This file's payer is not mapped yet; the others are.
            resp = await put_payer(client, other, other, [] if other == payer else identifiers)
            assert resp.status_code == 200
        accounts = {}
        claims = {}
        for pcn, (charge, *_rest) in expected["claims"].items():
            if pcn in expected.get("unmatched", []):
                continue
            accounts[pcn] = unique("acct")
            claims[pcn] = await submit_claim(
                producer, pcn=pcn, account=accounts[pcn], payer=payer, charge=charge
            )
        for pcn, account in accounts.items():
            await wait_for_charge(client, account, expected["claims"][pcn][0])

        resp = await post_835(client, (SAMPLES / name).read_bytes())
        assert resp.status_code == 202, resp.text
        (waiting,) = resp.json()["sets"]
        assert waiting["outcome"] == "payer_needed"
        queue = (await client.get("/v1/payer-needed", headers=ALL)).json()["items"]
        (item,) = [q for q in queue if q["id"] == waiting["id"]]
        assert item["payer_name"] and {i["value"] for i in item["payer_identifiers"]} & set(
            SAMPLE_PAYERS[payer]
        )

        mapped = await put_payer(client, payer, payer, SAMPLE_PAYERS[payer])
        (released,) = mapped.json()["released"]
        assert released["outcome"] == "posted", released
        summary = (await client.get(f"/v1/remittances/{released['remittance_id']}", headers=ALL)).json()
        assert summary["payer_id"] == expected["payer"]
        assert D(summary["amount"]) == D(expected["bpr"])
        assert D(summary["totals"]["deposit"]) == D(expected["bpr"])
        assert D(summary["totals"]["provider_adjustments"]) == D(expected["plb"])
        # The identity: posted + unmatched = deposit.
        totals = summary["totals"]
        assert D(totals["posted"]) + D(totals["unmatched"]) == D(totals["deposit"])
        kept = (await client.get(f"/v1/received-files/{resp.json()['received_file_id']}", headers=ALL)).json()
        assert kept["outcome"] == "posted" and D(kept["money"]["deposit"]) == D(expected["bpr"])

        matched = {c["patient_control_number"]: c for c in summary["matched"]}
        unmatched = {c["patient_control_number"]: c for c in summary["unmatched"]}
        assert set(unmatched) == set(expected.get("unmatched", []))
        assert set(matched) == set(expected["claims"]) - set(unmatched)
        for pcn, (charge, paid, pr, adj) in expected["claims"].items():
            line = matched.get(pcn) or unmatched[pcn]
            assert D(line["charge"]) == D(charge)
            assert D(line["paid"]) == D(paid)
            assert D(line["patient_responsibility"]) == D(pr)
            if pcn in matched:
                assert line["claim_id"] == str(claims[pcn])
                assert adjustments(line) == {k: str(D(v)) for k, v in adj.items()}
                # The account: insurance owes nothing more; the patient owes the PR share.
                account = await get_account(client, accounts[pcn])
                assert D(account["insurance_pending"]) == 0
                assert D(account["patient_due"]) == D(pr)
                assert D(account["balance"]) == D(pr)

        for pcn in expected.get("unmatched", []):
            # Matched by hand later: the identity still holds and nothing is lost.
            account = unique("acct")
            charge = expected["claims"][pcn][0]
            claim_id = await submit_claim(  # the remittance's payer's claim: matching by hand needs it
                producer, pcn=unique("X")[:17], account=account, payer=expected["payer"], charge=charge
            )
            await wait_for_charge(client, account, charge)
            queue = (
                await client.get("/v1/unmatched", params={"remittance_id": summary["id"]}, headers=ALL)
            ).json()["items"]
            (item,) = [q for q in queue if q["patient_control_number"] == pcn]
            done = await client.post(
                f"/v1/unmatched/{item['id']}/match", json={"claim_id": str(claim_id)}, headers=ALL
            )
            assert done.status_code == 200, done.text
            again = await client.post(
                f"/v1/unmatched/{item['id']}/match", json={"claim_id": str(claim_id)}, headers=ALL
            )
            assert again.status_code == 409
            after = (await client.get(f"/v1/remittances/{summary['id']}", headers=ALL)).json()
            assert after["unmatched"] == [] and D(after["totals"]["unmatched"]) == 0
            assert D(after["totals"]["posted"]) == D(expected["bpr"])
            account_now = await get_account(client, account)
            assert D(account_now["insurance_pending"]) == 0


async def test_same_835_twice_by_http_posts_once(service, producer):
    account, pcn, trace = unique("acct"), unique("P")[:17], unique("TRN")
    async with service("payments") as (_, client):
        await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="130.00")
        await wait_for_charge(client, account, "130.00")
        text = make_835(
            trace, [make_clp(pcn, "1", "130", "80", "30", [("CO", "45", "20"), ("PR", "1", "30")])]
        )
        first = await post_835(client, text)
        second = await post_835(client, text, content_type="text/plain")
        assert first.status_code == 201 and second.status_code == 200
        one, two = first.json()["remittances"][0], second.json()["remittances"][0]
        assert two["duplicate"] is True and one["duplicate"] is False
        assert two["id"] == one["id"] and two["matched"] == one["matched"]
        ledger = await get_ledger(client, account)
        # charge, payment, CO-45 write-off, PR-1 out of insurance and into patient: once.
        assert [e["entry_type"] for e in ledger["entries"]] == [
            "charge",
            "insurance_payment",
            "adjustment",
            "transfer",
            "transfer",
        ]
        assert D(ledger["balance"]) == D("30.00")
        listed = (await client.get("/v1/remittances", params={"trace_number": trace}, headers=ALL)).json()[
            "items"
        ]
        assert len(listed) == 1


async def test_same_835_delivered_twice_through_kafka_posts_once(service, producer, admin, servers):
    account, pcn, trace = unique("acct"), unique("P")[:17], unique("TRN")
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    async with service("payments") as (_, client):
        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="200.00")
        await wait_for_charge(client, account, "200.00")
        text = make_835(trace, [make_clp(pcn, "1", "200", "150", "50", [("PR", "2", "50")], pccn="PAYER-77")])
        events = [
            new_event(
                RemittanceReceived(
                    trace_number=trace, payer_id="SBX001", x12_835=text, received_at="2026-01-10T00:00:00Z"
                ),
                source="/partners/payer",
            )
            for _ in range(2)
        ]
        for event in events:  # two deliveries of one remittance (e.g. a partner's retry)
            topic, key, value, headers = encode_signed(event)
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)

        async def both_handled():
            rows = await admin.fetch(
                "SELECT event_id FROM payments.inbox WHERE event_id = ANY($1::uuid[])", [e.id for e in events]
            )
            return len(rows) == 2

        await eventually(both_handled, timeout=30)
        listed = (await client.get("/v1/remittances", params={"trace_number": trace}, headers=ALL)).json()[
            "items"
        ]
        assert len(listed) == 1 and listed[0]["source"] == "kafka"
        account_now = await get_account(client, account)
        assert D(account_now["insurance_pending"]) == 0 and D(account_now["patient_due"]) == D("50.00")
        ledger = await get_ledger(client, account)
        assert [e["entry_type"] for e in ledger["entries"]].count("insurance_payment") == 1

        # One payment.posted for the claim, keyed by the claim, with its adjudication.
        records = await read_from(
            servers.kafka_bootstrap,
            "payment.posted",
            start,
            until=lambda rs: any(r.key == str(claim_id).encode() for r in rs),
        )
        mine = [json.loads(r.value) for r in records if r.key == str(claim_id).encode()]
        assert len(mine) == 1
        posted = mine[0]
        assert posted["source"] == "insurer" and posted["claim_status_code"] == "1"
        assert posted["payer_claim_control_number"] == "PAYER-77" and posted["trace_number"] == trace
        assert D(posted["amount"]) == 150 and D(posted["charge"]) == 200 and D(posted["allowed"]) == 200
        assert D(posted["patient_responsibility"]) == 50 and posted["payer_id"] == "SBX001"
        assert posted["adjustments"] == [{"group_code": "PR", "reason_code": "2", "amount": "50.00"}]


async def test_reversal_undoes_its_original(service, producer):
    account, pcn = unique("acct"), unique("P")[:17]
    async with service("payments") as (_, client):
        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="130.00")
        await wait_for_charge(client, account, "130.00")
        cas = [("CO", "45", "20"), ("PR", "1", "30")]
        original = make_835(unique("TRN"), [make_clp(pcn, "1", "130", "80", "30", cas, pccn="ICN-1")])
        resp = await post_835(client, original)
        first_posting = resp.json()["remittances"][0]["matched"][0]["posting_id"]
        before = await get_account(client, account)
        assert D(before["patient_due"]) == 30 and D(before["insurance_pending"]) == 0

        negated = [(g, r, "-" + a) for g, r, a in cas]
        reversal = make_835(unique("TRN"), [make_clp(pcn, "22", "-130", "-80", "-30", negated, pccn="ICN-1")])
        resp = await post_835(client, reversal)
        assert resp.status_code == 201, resp.text
        summary = resp.json()["remittances"][0]
        assert D(summary["amount"]) == D("-80") or D(summary["totals"]["deposit"]) == D("-80")
        (line,) = summary["matched"]
        assert line["status_code"] == "22" and line["claim_id"] == str(claim_id)

        after = await get_account(client, account)
        # Back to where the claim was before the payer answered: all of it with insurance.
        assert D(after["insurance_pending"]) == D("130.00")
        assert D(after["patient_due"]) == 0 and D(after["balance"]) == D("130.00")
        ledger = await get_ledger(client, account)
        by_posting = {}
        for e in ledger["entries"]:
            by_posting.setdefault(e["posting_id"], D(0))
            by_posting[e["posting_id"]] += D(e["amount"])
        assert by_posting[first_posting] == -by_posting[line["posting_id"]]

        # A second reversal of the same claim finds nothing left to reverse: parked, not posted.
        again = make_835(unique("TRN"), [make_clp(pcn, "22", "-130", "-80", "-30", negated, pccn="ICN-1")])
        resp = await post_835(client, again)
        parked = resp.json()["remittances"][0]
        assert parked["matched"] == [] and parked["unmatched"][0]["reason"].startswith("reversal")
        assert D(parked["totals"]["posted"]) + D(parked["totals"]["unmatched"]) == D(
            parked["totals"]["deposit"]
        )


def _malformed(pcn: str, trace: str) -> dict[str, tuple[str, str, str]]:
    """name → (file, expected error field, words the detail must contain)."""
    good = make_835(trace, [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")])])
    segments = good.split("~\n")
    truncated = "~\n".join(segments[:9]) + "~\n"
    se_index = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    bad_count = list(segments)
    bad_count[se_index] = bad_count[se_index].replace("SE*11*", "SE*12*")
    unbalanced = make_835(trace, [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "15")])])
    bad_bpr = make_835(trace, [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")])], amount="81")
    return {
        "truncated": (truncated, "SE", "ends inside a transaction set"),
        "segment count": ("~\n".join(bad_count), "segment[13].SE01", "SE01 says 12 segments, the set has 11"),
        "claim not balancing": (unbalanced, "segment[11].CLP04", "claim does not balance"),
        "deposit not balancing": (bad_bpr, "segment[4].BPR02", "BPR02 is not the claim payments"),
    }


async def test_malformed_835_is_refused_with_where_and_nothing_posted(service, producer):
    account, pcn = unique("acct"), unique("P")[:17]
    async with service("payments") as (_, client):
        await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="100.00")
        await wait_for_charge(client, account, "100.00")
        for name, (text, field, words) in _malformed(pcn, unique("TRN")).items():
            resp = await post_835(client, text)
            assert resp.status_code == 422, (name, resp.text)
            assert resp.headers["content-type"] == "application/problem+json"
            problem = resp.json()
            assert problem["errors"][0]["field"] == field, (name, problem)
            assert words in problem["detail"], (name, problem)
            assert "Nothing from this file was posted" in problem["detail"]
        ledger = await get_ledger(client, account)
        assert [e["entry_type"] for e in ledger["entries"]] == ["charge"]
        wrong_type = await post_835(client, "{}", content_type="application/json")
        assert wrong_type.status_code == 415


async def test_raw_835_needs_its_own_scope_and_every_read_is_audited(service):
    trace = unique("TRN")
    text = make_835(trace, [make_clp(unique("P")[:17], "1", "10", "10")])
    async with service("payments") as (_, client):
        posted = (await post_835(client, text)).json()
        rid = posted["remittances"][0]["id"]
        refused = await client.get(f"/v1/remittances/{rid}/x12", headers=token("payments:read"))
        assert refused.status_code == 403
        raw = await client.get(
            f"/v1/remittances/{rid}/x12", headers=token("remittances:raw", subject="auditor-1")
        )
        assert raw.status_code == 200 and raw.text == text
        trail = (
            await client.get(
                "/v1/audit", params={"resource_id": rid, "resource_type": "remittance_file"}, headers=ALL
            )
        ).json()
        assert [(e["actor"], e["outcome"]) for e in trail] == [("auditor-1", "success")]


async def test_concurrent_uploads_of_one_835_post_once(service, producer):
    account, pcn = unique("acct"), unique("P")[:17]
    async with service("payments") as (_, client):
        await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="90.00")
        await wait_for_charge(client, account, "90.00")
        text = make_835(unique("TRN"), [make_clp(pcn, "1", "90", "90")])
        responses = await asyncio.gather(*[post_835(client, text) for _ in range(10)])
        assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
        assert len({r.json()["remittances"][0]["id"] for r in responses}) == 1
        ledger = await get_ledger(client, account)
        assert [e["entry_type"] for e in ledger["entries"]] == ["charge", "insurance_payment"]
        assert D(ledger["balance"]) == 0


async def test_remittance_before_its_claim_is_posted_when_the_claim_arrives(service, producer):
    account, pcn = unique("acct"), unique("P")[:17]
    async with service("payments") as (_, client):
        text = make_835(unique("TRN"), [make_clp(pcn, "1", "70", "50", "20", [("PR", "3", "20")])])
        first = (await post_835(client, text)).json()["remittances"][0]
        assert first["matched"] == [] and D(first["totals"]["unmatched"]) == D("50.00")
        await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="70.00")

        async def posted():
            view = (await client.get(f"/v1/remittances/{first['id']}", headers=ALL)).json()
            return view if view["matched"] else None

        view = await eventually(posted, timeout=30)
        assert view["unmatched"] == [] and D(view["totals"]["posted"]) == D("50.00")
        account_view = await get_account(client, account)
        assert account_view["insurance_pending"] == "0.00" and account_view["patient_due"] == "20.00"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_our_parser_agrees_with_x12sdk_on_every_sample(name):
    from x12sdk.io import X12ModelReader

    from services.payments.remittances.x12 import parse_835

    text = (SAMPLES / name).read_text()
    with X12ModelReader(text) as reader:
        models = list(reader.models())
    theirs = [
        (
            c.clp_segment.patient_control_number,
            c.clp_segment.total_claim_charge_amount,
            c.clp_segment.claim_payment_amount,
            c.clp_segment.patient_responsibility_amount or 0,
        )
        for m in models
        for h in m.loop_2000
        for c in h.loop_2100
    ]
    ours = parse_835(text)
    assert [r.amount for r in ours] == [
        m.header.bpr_segment.total_actual_provider_payment_amount for m in models
    ]
    assert [
        (c.patient_control_number, c.charge, c.paid, c.patient_responsibility) for r in ours for c in r.claims
    ] == theirs


async def test_malformed_835_from_kafka_goes_to_the_dead_letter_topic_with_where(
    service, producer, servers, admin
):
    from shared.consumer import dlq_headers
    from shared.events.envelope import H_ID

    trace = unique("TRN")
    text = make_835(trace, [make_clp(unique("P")[:17], "1", "100", "80", "15", [("PR", "1", "15")])])
    start = await end_offsets(servers.kafka_bootstrap, "remittance.received.dlq")
    async with service("payments"):
        event = new_event(
            RemittanceReceived(
                trace_number=trace, payer_id="SBX001", x12_835=text, received_at="2026-01-10T00:00:00Z"
            ),
            source="/partners/payer",
        )
        topic, key, value, headers = encode_signed(event)
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        parked = await read_from(
            servers.kafka_bootstrap,
            "remittance.received.dlq",
            start,
            until=lambda rs: any(dict(r.headers)[H_ID] == str(event.id).encode() for r in rs),
            timeout=30,
        )
    (record,) = [r for r in parked if dict(r.headers)[H_ID] == str(event.id).encode()]
    reason = dlq_headers(record)["dlq_error"]
    assert "invalid 835" in reason and "claim does not balance" in reason and "CLP04" in reason
    assert (
        await admin.fetchval("SELECT count(*) FROM payments.remittances WHERE trace_number = $1", trace) == 0
    )
    # Kept all the same (issue 15 item 2), with its outcome and located errors.
    kept = await admin.fetchrow(
        "SELECT source, outcome, errors::text AS errors FROM payments.received_files WHERE event_id = $1",
        event.id,
    )
    assert kept["source"] == "kafka" and kept["outcome"] == "refused" and "CLP04" in kept["errors"]


async def test_corrected_and_voided_claims_with_the_payers_reversals_net_out(service, producer, admin):
    account, pcn, void_pcn = unique("acct"), unique("P")[:17], unique("V")[:17]
    async with service("payments") as (_, client):
        original = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="100.00")
        voided = await submit_claim(producer, pcn=void_pcn, account=account, payer="SBX001", charge="50.00")
        await wait_for_charge(client, account, "150.00")
        paid = make_835(
            unique("TRN"),
            [
                make_clp(pcn, "1", "100", "60", "20", [("CO", "45", "20"), ("PR", "1", "20")], pccn="ICN-A"),
                make_clp(void_pcn, "1", "50", "40", "", [("CO", "45", "10")], pccn="ICN-V"),
            ],
        )
        assert (await post_835(client, paid)).status_code == 201

        # The practice corrects the first claim (same PCN, frequency 7) and voids the second (8).
        corrected = await submit_claim(
            producer,
            pcn=pcn,
            account=account,
            payer="SBX001",
            charge="120.00",
            frequency_code="7",
            original_payer_claim_control_number="ICN-A",
        )
        await submit_claim(
            producer,
            pcn=void_pcn,
            account=account,
            payer="SBX001",
            charge="50.00",
            frequency_code="8",
            original_payer_claim_control_number="ICN-V",
        )

        async def retired():
            return (
                await admin.fetchval(
                    "SELECT count(*) FROM payments.ledger_entries "
                    "WHERE account_id = $1 AND reason_code = 'RETIRED'",
                    account,
                )
                == 2
            )

        await eventually(retired, timeout=60)
        # The payer reverses both originals and pays the corrected claim, in one file.
        answer = make_835(
            unique("TRN"),
            [
                make_clp(
                    pcn, "22", "-100", "-60", "-20", [("CO", "45", "-20"), ("PR", "1", "-20")], pccn="ICN-A"
                ),
                make_clp(pcn, "1", "120", "90", "20", [("CO", "45", "10"), ("PR", "1", "20")], pccn="ICN-B"),
                make_clp(void_pcn, "22", "-50", "-40", "", [("CO", "45", "-10")], pccn="ICN-V"),
            ],
        )
        resp = await post_835(client, answer)
        summary = resp.json()["remittances"][0]
        assert summary["unmatched"] == []
        assert {
            (m["payer_claim_control_number"], m["status_code"]): m["claim_id"] for m in summary["matched"]
        } == {
            ("ICN-A", "22"): str(original),
            ("ICN-B", "1"): str(corrected),
            ("ICN-V", "22"): str(voided),
        }
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["patient_due"], view["balance"]) == ("0.00", "20.00", "20.00")
        items = await admin.fetch(
            "SELECT item_id, sum(amount) AS total FROM payments.ledger_entries "
            "WHERE account_id = $1 GROUP BY item_id",
            account,
        )
        assert {r["item_id"]: r["total"] for r in items} == {original: 0, voided: 0, corrected: D("20.00")}


async def test_a_claim_sent_to_another_payer_is_not_posted_by_this_payers_835(service, producer):
    account, pcn = unique("acct"), unique("P")[:17]
    async with service("payments") as (_, client):
        await submit_claim(producer, pcn=pcn, account=account, payer="SBX002", charge="40.00")
        await wait_for_charge(client, account, "40.00")
        text = make_835(unique("TRN"), [make_clp(pcn, "1", "40", "40")], payer_ref="SBX001")
        summary = (await post_835(client, text)).json()
        (parked,) = summary["remittances"][0]["unmatched"]
        assert parked["reason"] == "the claim with this patient control number was sent to another payer"
        view = await get_account(client, account)
        assert view["insurance_pending"] == "40.00"


async def test_remittance_and_unmatched_lists_page_by_cursor_and_filter_by_date(service):
    payer, ident = unique("PAGE")[:20], unique("ID")[:20]
    pcn = unique("P")[:15]
    async with service("payments") as (_, client):
        await client.put(
            f"/v1/payers/{payer}", json={"name": "Paging payer", "identifiers": [ident]}, headers=ALL
        )
        ids = []
        for day in ("01", "02", "03"):
            claims = [make_clp(f"{pcn}{day}", "1", "10", "10"), make_clp(f"{pcn}{day}X", "1", "5", "5")]
            resp = await post_835(
                client, make_835(unique("TRN"), claims, payer_ref=ident, paid_date=f"202601{day}")
            )
            ids.append(resp.json()["remittances"][0]["id"])

        async def listed(path: str, **params: str) -> dict:
            resp = await client.get(path, params=params, headers=ALL)
            assert resp.status_code == 200, resp.text
            return resp.json()

        first = await listed("/v1/remittances", payer_id=payer, limit="2")
        assert [r["id"] for r in first["items"]] == [ids[2], ids[1]] and first["next_cursor"]
        rest = await listed("/v1/remittances", payer_id=payer, limit="2", cursor=first["next_cursor"])
        assert [r["id"] for r in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
        one_day = await listed(
            "/v1/remittances", payer_id=payer, date_from="2026-01-02", date_to="2026-01-02"
        )
        assert [r["id"] for r in one_day["items"]] == [ids[1]]
        from_day = await listed("/v1/remittances", payer_id=payer, date_from="2026-01-02")
        assert [r["id"] for r in from_day["items"]] == [ids[2], ids[1]]
        backwards = await client.get(
            "/v1/remittances", params={"date_from": "2026-01-03", "date_to": "2026-01-01"}, headers=ALL
        )
        assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "query.date_from"

        page = await listed("/v1/unmatched", remittance_id=ids[0], limit="1")
        more = await listed("/v1/unmatched", remittance_id=ids[0], limit="1", cursor=page["next_cursor"])
        assert more["next_cursor"] is None
        parked = {u["patient_control_number"] for u in page["items"] + more["items"]}
        assert parked == {f"{pcn}01", f"{pcn}01X"}
        assert (await listed("/v1/underpayments", payer_id=payer)) == {"items": [], "next_cursor": None}


async def test_an_unknown_remittance_is_404_and_the_read_is_audited(service):
    missing = str(uuid.uuid4())
    async with service("payments") as (_, client):
        resp = await client.get(f"/v1/remittances/{missing}", headers=ALL)
        assert resp.status_code == 404 and resp.json()["type"].endswith("not-found")
        trail = (
            await client.get(
                "/v1/audit", params={"resource_id": missing, "resource_type": "remittance"}, headers=ALL
            )
        ).json()
        assert [(e["action"], e["outcome"], e["status_code"]) for e in trail] == [("read", "not_found", 404)]
