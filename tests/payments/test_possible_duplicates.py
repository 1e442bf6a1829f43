"""One payment per claim adjudication (issue 16, item 3).

The payer sandbox, after a crash, re-paid 44 claims in a new 835 with a new trace (TRN02), and
payments posted them again: $6,910 counted twice, negative patient balances, duplicate denial
items, extra notifications. The same trace with the same content was already caught (a duplicate
file); another trace is not the same file, but it may carry the same adjudication.

835 005010X221A1, loop 2100: CLP01 is our patient control number, CLP02 the claim status (1, 2,
3 processed as primary/secondary/tertiary, 4 denied, 19/20/21 processed and forwarded, 22
reversal of a previous payment, 23 not our claim, forwarded), CLP07 the payer's claim control
number (its ICN/DCN for this adjudication). The guide's rule for a changed adjudication
(section 1.10.2.8, "Reversals and Corrections"): the payer reverses the original claim payment
(CLP02 = 22, the original's CLP07, negated amounts) and sends the corrected adjudication, which
then posts. So a non-reversal CLP for a payer + CLP01 + CLP07 whose posting is still live (not
reversed) is a second adjudication sent without a reversal: a possible duplicate payment. It is
parked in a queue showing both remittances, counted nowhere on the claim, and accounted in its
file's money as "possible_duplicate".
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from shared.events import new_event
from shared.events.catalogue import RemittanceReceived
from tests.conftest import encode_signed, end_offsets, eventually, read_from, running_service, token, unique
from tests.payments.helpers import (
    ALL,
    get_account,
    get_ledger,
    get_received_file,
    make_835,
    make_clp,
    make_headers,
    make_plb,
    post_835,
    submit_claim,
    wait_for_charge,
)

D = Decimal
CAS_A = [("CO", "45", "20"), ("PR", "1", "20")]  # 100 = 60 paid + 20 + 20
CAS_B = [("CO", "45", "10"), ("PR", "2", "10")]  # 50 = 30 paid + 10 + 10


async def two_claims(client: Any, producer: Any) -> tuple[str, list[str], list[Any]]:
    """An account with two claims to SBX001 (100.00 and 50.00): (account, pcns, claim ids)."""
    account = unique("acct")
    pcns = [unique("D")[:17], unique("E")[:17]]
    ids = [
        await submit_claim(producer, pcn=pcns[0], account=account, payer="SBX001", charge="100.00"),
        await submit_claim(producer, pcn=pcns[1], account=account, payer="SBX001", charge="50.00"),
    ]
    await wait_for_charge(client, account, "150.00")
    return account, pcns, ids


def paying(pcns: list[str], trace: str, icns: tuple[str, str]) -> str:
    """An 835 paying both claims (60.00 + 30.00 = BPR02 90.00)."""
    return make_835(
        trace,
        [
            make_clp(pcns[0], "1", "100", "60", "20", CAS_A, pccn=icns[0]),
            make_clp(pcns[1], "1", "50", "30", "10", CAS_B, pccn=icns[1]),
        ],
    )


async def payment_events(admin: Any, claim_id: Any) -> int:
    """`payment.posted` events payments staged for a claim (the outbox commits with the posting;
    claims' claim.paid and every notification of a payment come from these)."""
    return await admin.fetchval(
        "SELECT count(*) FROM payments.outbox WHERE topic = 'payment.posted' AND event_key = $1",
        str(claim_id),
    )


async def get_duplicates(client: Any, **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/v1/possible-duplicates", params=params, headers=ALL)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def post_resolution(client: Any, item_id: str, action: str, reason: str = "checked the EOB", **h: Any):
    headers = {**make_headers(), **h}
    return await client.post(
        f"/v1/possible-duplicates/{item_id}/resolve",
        json={"action": action, "reason": reason},
        headers=headers,
    )


async def test_a_new_trace_repaying_claims_is_parked_with_both_remittances(service, producer, admin):
    async with service("payments") as (_, client):
        account, pcns, ids = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        first_trace, second_trace = unique("TRN"), unique("TRN")
        first = await post_835(client, paying(pcns, first_trace, icns))
        assert first.status_code == 201, first.text
        before = await get_account(client, account)
        assert (before["insurance_pending"], before["patient_due"]) == ("0.00", "30.00")
        entries_before = len((await get_ledger(client, account))["entries"])

        # The sandbox, restarted, pays the same adjudications again under a new trace.
        second = await post_835(client, paying(pcns, second_trace, icns))
        assert second.status_code == 201, second.text
        (remittance,) = second.json()["remittances"]

        # Nothing new on the claims: balances, ledger and payment events as they were.
        after = await get_account(client, account)
        assert (after["balance"], after["insurance_pending"], after["patient_due"]) == (
            before["balance"],
            "0.00",
            "30.00",
        )
        assert len((await get_ledger(client, account))["entries"]) == entries_before
        for claim_id in ids:
            assert await payment_events(admin, claim_id) == 1
        assert remittance["matched"] == [] and remittance["unmatched"] == []
        assert D(remittance["totals"]["possible_duplicates"]) == D("90.00")

        # The queue holds both claims, each showing both remittances side by side.
        items = await get_duplicates(client, remittance_id=remittance["id"])
        assert sorted(i["patient_control_number"] for i in items) == sorted(pcns)
        by_pcn = {i["patient_control_number"]: i for i in items}
        item = by_pcn[pcns[0]]
        assert item["status"] == "open" and item["claim_id"] == str(ids[0]) and item["account_id"] == account
        assert item["payer_claim_control_number"] == icns[0]
        assert item["original"]["trace_number"] == first_trace
        assert item["original"]["remittance_id"] == first.json()["remittances"][0]["id"]
        assert item["duplicate"]["trace_number"] == second_trace
        assert item["duplicate"]["remittance_id"] == remittance["id"]
        for side in ("original", "duplicate"):
            assert (D(item[side]["paid"]), D(item[side]["charge"]), item[side]["status_code"]) == (
                60,
                100,
                "1",
            )
        one = await client.get(f"/v1/possible-duplicates/{item['id']}", headers=ALL)
        assert (
            one.status_code == 200 and one.json()["original"]["posting_id"] == item["original"]["posting_id"]
        )

        # The second file's BPR02 is accounted: parked as a possible duplicate, to the cent.
        money = (await get_received_file(client, second.json()["received_file_id"]))["money"]
        assert D(money["deposit"]) == D("90.00") and D(money["possible_duplicate"]) == D("90.00")
        assert D(money["posted"]) == 0 and money["balanced"] is True

        # Scoped and audited.
        assert (
            await client.get("/v1/possible-duplicates", headers=token("payments:write"))
        ).status_code == 403


async def test_not_a_duplicate_posts_it_through_the_posting_path(service, producer, admin):
    async with service("payments") as (_, client):
        account, pcns, ids = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        await post_835(client, paying(pcns, unique("TRN"), icns))
        second = await post_835(client, paying(pcns, unique("TRN"), icns))
        (remittance,) = second.json()["remittances"]
        items = {
            i["patient_control_number"]: i
            for i in await get_duplicates(client, remittance_id=remittance["id"])
        }

        # Reason and admin scope required.
        assert (await post_resolution(client, items[pcns[0]]["id"], "not-a-duplicate", "")).status_code == 422
        forbidden = await post_resolution(
            client,
            items[pcns[0]]["id"],
            "not-a-duplicate",
            Authorization=token("payments:write")["Authorization"],
        )
        assert forbidden.status_code == 403

        headers = make_headers()
        body = {"action": "not-a-duplicate", "reason": "the payer confirmed a second adjudication"}
        url = f"/v1/possible-duplicates/{items[pcns[0]]['id']}/resolve"
        resp = await client.post(url, json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        resolved = resp.json()
        assert resolved["status"] == "posted" and resolved["resolved_posting_id"]
        replay = await client.post(url, json=body, headers=headers)  # same Idempotency-Key: same answer
        assert replay.status_code == 200 and replay.json() == resolved
        again = await client.post(url, json=body, headers=make_headers())  # resolved once
        assert again.status_code == 409

        assert await payment_events(admin, ids[0]) == 2
        ledger = await get_ledger(client, account)
        assert [e["entry_type"] for e in ledger["entries"] if e["item_id"] == str(ids[0])].count(
            "insurance_payment"
        ) == 2
        money = (await get_received_file(client, second.json()["received_file_id"]))["money"]
        assert (D(money["posted"]), D(money["possible_duplicate"])) == (D("60.00"), D("30.00"))
        assert money["balanced"] is True
        assert [i["id"] for i in await get_duplicates(client, remittance_id=remittance["id"])] == [
            items[pcns[1]]["id"]
        ]


async def test_payer_paid_twice_opens_a_payer_credit_balance_never_a_second_payment(service, producer, admin):
    async with service("payments") as (_, client):
        account, pcns, ids = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        await post_835(client, paying(pcns, unique("TRN"), icns))
        second = await post_835(client, paying(pcns, unique("TRN"), icns))
        (remittance,) = second.json()["remittances"]
        items = {
            i["patient_control_number"]: i
            for i in await get_duplicates(client, remittance_id=remittance["id"])
        }
        before = await get_account(client, account)

        resp = await post_resolution(client, items[pcns[0]]["id"], "duplicate-payer-paid-twice")
        assert resp.status_code == 200, resp.text
        resolved = resp.json()
        assert resolved["status"] == "payer_paid_twice" and resolved["credit_balance_id"]
        # The overpayment is owed back to the payer: a forward balance it will take back (or we
        # refund), not a second insurance payment; claim and patient balances never go negative.
        after = await get_account(client, account)
        assert (after["balance"], after["insurance_pending"], after["patient_due"]) == (
            before["balance"],
            before["insurance_pending"],
            before["patient_due"],
        )
        assert await payment_events(admin, ids[0]) == 1
        balances = (
            await client.get(
                "/v1/forward-balances", params={"payer_id": "SBX001", "status": "open"}, headers=ALL
            )
        ).json()["items"]
        (credit,) = [b for b in balances if b["id"] == resolved["credit_balance_id"]]
        assert credit["reference"] == icns[0] and D(credit["open_amount"]) == D("-60.00")
        assert credit["claim_id"] == str(ids[0])
        money = (await get_received_file(client, second.json()["received_file_id"]))["money"]
        assert (D(money["payer_credit"]), D(money["possible_duplicate"])) == (D("60.00"), D("30.00"))
        assert money["balanced"] is True

        # The payer offsets it in a later remittance (PLB WO with the claim's ICN): recovered,
        # and still nothing on the claim.
        offset = make_835(
            unique("TRN"),
            [make_clp(unique("F")[:17], "1", "100", "100", pccn=unique("ICN"))],
            plb=make_plb("WO", icns[0], "60.00"),
        )
        assert (await post_835(client, offset)).status_code == 201, "offset remittance"
        recovered = (
            await client.get("/v1/forward-balances", params={"payer_id": "SBX001"}, headers=ALL)
        ).json()["items"]
        (credit,) = [b for b in recovered if b["id"] == resolved["credit_balance_id"]]
        assert credit["status"] == "recovered" and D(credit["open_amount"]) == 0
        final = await get_account(client, account)
        assert (final["insurance_pending"], final["patient_due"]) == (before["insurance_pending"], "30.00")

        # The second: the practice refunds the payer instead (with the refund's reference).
        await post_resolution(client, items[pcns[1]]["id"], "duplicate-payer-paid-twice")
        refund = await client.post(
            f"/v1/possible-duplicates/{items[pcns[1]]['id']}/refund",
            json={"reference": "CHK-5531", "reason": "refund check mailed to the payer"},
            headers=make_headers(),
        )
        assert refund.status_code == 200, refund.text
        assert refund.json()["refund_reference"] == "CHK-5531" and refund.json()["refunded_at"]
        closed = (
            await client.get("/v1/forward-balances", params={"payer_id": "SBX001"}, headers=ALL)
        ).json()["items"]
        (credit,) = [b for b in closed if b["id"] == refund.json()["credit_balance_id"]]
        assert credit["status"] == "recovered"


async def test_a_duplicate_file_without_money_is_dismissed(service, producer, admin):
    async with service("payments") as (_, client):
        account, pcns, _ = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        await post_835(client, paying(pcns, unique("TRN"), icns))
        second = await post_835(client, paying(pcns, unique("TRN"), icns))
        (remittance,) = second.json()["remittances"]
        for item in await get_duplicates(client, remittance_id=remittance["id"]):
            resp = await post_resolution(client, item["id"], "duplicate-file-no-money")
            assert resp.status_code == 200 and resp.json()["status"] == "no_money"
        assert await get_duplicates(client, remittance_id=remittance["id"]) == []
        listed = await get_duplicates(client, remittance_id=remittance["id"], status="no_money")
        assert len(listed) == 2
        money = (await get_received_file(client, second.json()["received_file_id"]))["money"]
        assert D(money["no_money"]) == D("90.00") and money["balanced"] is True
        assert (await get_account(client, account))["patient_due"] == "30.00"


async def test_reversal_then_readjudication_and_corrected_claims_are_not_parked(service, producer, admin):
    async with service("payments") as (_, client):
        account, pcns, _ = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        await post_835(client, paying(pcns, unique("TRN"), icns))
        # The payer reverses the first adjudication (CLP02 22, the original's CLP07) and
        # re-adjudicates it under the same CLP07; it pays the second again under a new CLP07.
        negated = [(g, r, "-" + a) for g, r, a in CAS_A]
        redo = make_835(
            unique("TRN"),
            [
                make_clp(pcns[0], "22", "-100", "-60", "-20", negated, pccn=icns[0]),
                make_clp(
                    pcns[0], "1", "100", "70", "10", [("CO", "45", "20"), ("PR", "1", "10")], pccn=icns[0]
                ),
            ],
        )
        resp = await post_835(client, redo)
        assert resp.status_code == 201, resp.text
        (remittance,) = resp.json()["remittances"]
        assert [m["status_code"] for m in remittance["matched"]] == ["22", "1"]
        assert await get_duplicates(client, remittance_id=remittance["id"]) == []
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["patient_due"]) == ("0.00", "20.00")


async def test_two_files_posted_at_once_post_each_claim_once(service, producer, admin):
    async with service("payments") as (_, client):
        account, pcns, ids = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        answers = await asyncio.gather(
            post_835(client, paying(pcns, unique("TRN"), icns)),
            post_835(client, paying(pcns, unique("TRN"), icns)),
        )
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        live = await admin.fetchval(
            "SELECT count(*) FROM payments.claim_postings WHERE patient_control_number = ANY($1)", pcns
        )
        assert live == 2
        parked = [
            i
            for a in answers
            for i in await get_duplicates(client, remittance_id=a.json()["remittances"][0]["id"])
        ]
        assert len(parked) == 2
        for claim_id in ids:
            assert await payment_events(admin, claim_id) == 1
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["patient_due"]) == ("0.00", "30.00")


async def test_ci_a_duplicate_payment_835_with_a_new_trace_over_kafka(service, producer, admin, servers):
    """CI short fault (issue 16, must show): the sandbox's re-pay after a crash, as it arrives:
    `remittance.received` twice, new trace, same adjudications. The claims' balances stay, and
    there is one `payment.posted` per claim on the topic (so one claim.paid, one notification)."""
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    async with service("payments") as (_, client):
        account, pcns, ids = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        events = []
        for trace in (unique("TRN"), unique("TRN")):
            event = new_event(
                RemittanceReceived(
                    trace_number=trace,
                    payer_id="SBX001",
                    x12_835=paying(pcns, trace, icns),
                    received_at="2026-01-10T00:00:00Z",
                ),
                source="/partners/payer",
            )
            events.append(event)
            topic, key, value, headers = encode_signed(event)
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)

        async def both_handled():
            rows = await admin.fetch(
                "SELECT event_id FROM payments.inbox WHERE event_id = ANY($1::uuid[])", [e.id for e in events]
            )
            return len(rows) == 2

        await eventually(both_handled, timeout=60, what="both remittance.received handled")
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["patient_due"]) == ("0.00", "30.00")
        parked = await get_duplicates(client, payer_id="SBX001", claim_id=str(ids[0]))
        assert len(parked) == 1 and parked[0]["status"] == "open"
        records = await read_from(
            servers.kafka_bootstrap,
            "payment.posted",
            start,
            until=lambda rs: all(any(r.key == str(c).encode() for r in rs) for c in ids),
            timeout=30,
        )
        for claim_id in ids:
            mine = [json.loads(r.value) for r in records if r.key == str(claim_id).encode()]
            assert len(mine) == 1, mine
            assert await payment_events(admin, claim_id) == 1


async def test_the_same_adjudication_parked_twice_before_its_claim_arrives_posts_once(
    service, producer, admin
):
    """Both files came before the claim's `claim.submitted` (both parked unmatched): when the
    claim arrives, the first is posted, the second is a possible duplicate, not a second payment."""
    async with service("payments") as (_, client):
        account, pcn, icn = unique("acct"), unique("L")[:17], unique("ICN")
        clp = make_clp(pcn, "1", "100", "60", "20", CAS_A, pccn=icn)
        answers = [await post_835(client, make_835(unique("TRN"), [clp])) for _ in range(2)]
        remittances = [a.json()["remittances"][0] for a in answers]
        assert [len(r["unmatched"]) for r in remittances] == [1, 1]

        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="100.00")

        async def posted():
            return await admin.fetchval(
                "SELECT count(*) FROM payments.possible_duplicates WHERE claim_id = $1", claim_id
            )

        await eventually(posted, timeout=60, what="the late match")
        assert await payment_events(admin, claim_id) == 1
        view = await get_account(client, account)
        assert (view["insurance_pending"], view["patient_due"]) == ("0.00", "20.00")
        (item,) = await get_duplicates(client, claim_id=str(claim_id))
        assert item["duplicate"]["remittance_id"] == remittances[1]["id"]
        assert item["original"]["remittance_id"] == remittances[0]["id"]
        money = (await get_received_file(client, answers[1].json()["received_file_id"]))["money"]
        assert (D(money["unmatched"]), D(money["possible_duplicate"]), money["balanced"]) == (0, 60, True)


async def test_the_queue_is_stuck_work_in_readiness_and_the_ops_overview(settings, producer):
    """Issue 16 item 7: the possible-duplicate queue is visible (probe payments:possible-duplicates)."""
    probe = "payments:possible-duplicates"
    ours = settings.model_copy(
        update={"stuck_work_every_seconds": 0.3, "stuck_work_thresholds": {probe: {"warn_age_seconds": 0}}}
    )
    async with running_service("payments", ours) as (_, client):
        _, pcns, _ = await two_claims(client, producer)
        icns = (unique("ICN"), unique("ICN"))
        await post_835(client, paying(pcns, unique("TRN"), icns))
        await post_835(client, paying(pcns, unique("TRN"), icns))

        async def listed():
            body = (await client.get("/v1/ops/overview", headers=ALL)).json()
            found = next((q for q in body["stuck_work"] if q["queue"] == probe), None)
            return found if found and found["count"] >= 2 and found["state"] == "warn" else None

        queue = await eventually(listed, timeout=30, what="possible duplicates in the ops overview")
        assert queue["oldest_age_seconds"] is not None
        ready = await client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"][f"stuck:{probe}"][0]["status"] == "warn"
