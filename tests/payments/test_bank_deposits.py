"""Bank deposits from BAI2 files (or the CSV fallback) reconciled against the 835s.

The rules come from the CAQH CORE EFT & ERA Reassociation rule and the 835 guide
(005010X221A1): an EFT's ACH CCD+ addenda carries the 835's TRN segment, so the deposit's
TRN02 is the 835's TRN02 (loop header TRN02, "check or EFT trace number") and its amount is
BPR02; on a check 835 (BPR04=CHK) TRN02 is the check number. Card deposits are the card
processor's settlement batches of patient card payments. BAI2 records (01/02/03/16/49/98/99,
88 continuations) follow the BAI2 specification: amounts in whole cents, the 02 group's as-of
date is the bank date, each trailer carries its control total and record count."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from decimal import Decimal

from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    get_reconciliation,
    make_835,
    make_bai2,
    make_clp,
    make_core_trn,
    make_headers,
    post_835,
    post_bank_deposits,
    post_charge,
)

D = Decimal
HEADER = "date,amount,type,reference,check_number,batch_id,description\n"


def digits() -> str:
    """A check number nobody else uses."""
    return str(uuid.uuid4().int)[:10]


def make_remittance(trace: str, paid: str, day: str, *, method: str = "ACH") -> str:
    """An 835 paying one claim `paid`, dated `day` (BPR16), by EFT (ACH) or check (CHK)."""
    return make_835(trace, [make_clp(unique("P")[:17], "1", paid, paid)], paid_date=day, method=method)


async def post_835s(client, *files: str) -> None:
    for text in files:
        resp = await post_835(client, text)
        assert resp.status_code == 201, resp.text


def by_reference(rows: list[dict]) -> dict[str, dict]:
    return {r["trace_number"] or r["card_batch"]: r for r in rows}


async def test_a_bai2_day_reconciles_an_eft_and_a_check_and_shows_the_unknown_deposit(service):
    eft, check, missing = unique("EFT"), digits(), unique("EFT")
    async with service("payments") as (_, client):
        await post_835s(
            client,
            make_remittance(eft, "150.00", "20320420"),
            make_remittance(check, "80.00", "20320420", method="CHK"),
            make_remittance(missing, "45.00", "20320420"),
        )
        bai2 = make_bai2(
            date(2032, 4, 20),
            [
                ("165", 15000, unique("B"), "", make_core_trn(eft)),  # ACH credit, TRN in the addenda
                ("175", 8000, unique("B"), check, ""),  # check deposit: customer ref = check number
                ("195", 12345, unique("B"), "WIRE0001", "INCOMING WIRE ORIGINATOR UNKNOWN"),
            ],
        )
        resp = await post_bank_deposits(client, bai2)
        assert resp.status_code == 201, resp.text
        imported = resp.json()
        assert imported["format"] == "bai2" and imported["duplicate"] is False
        assert sorted(D(d["amount"]) for d in imported["deposits"]) == [D("80.00"), D("123.45"), D("150.00")]
        report = await get_reconciliation(client, "2032-04-20", "2032-04-20", as_of="2032-04-25")
    matched = by_reference(report["matched"]["items"])
    assert set(matched) == {eft, check}
    eft_row = matched[eft]
    assert (eft_row["rule"], eft_row["kind"], eft_row["status"]) == ("eft_trace", "eft", "matched")
    assert D(matched[eft]["deposit_amount"]) == D(matched[eft]["expected_amount"]) == D("150.00")
    assert (matched[check]["rule"], matched[check]["kind"]) == ("check_number", "check")
    assert D(matched[check]["deposit_amount"]) == D(matched[check]["expected_amount"]) == D("80.00")
    [unknown] = report["unmatched_deposits"]["items"]
    assert (D(unknown["amount"]), unknown["bank_date"], unknown["age_days"]) == (D("123.45"), "2032-04-20", 5)
    [waiting] = report["unmatched_remittances"]["items"]
    assert (waiting["trace_number"], D(waiting["amount"]), waiting["age_days"]) == (missing, D("45.00"), 5)
    assert report["discrepancies"]["items"] == []
    totals = report["totals"]
    assert (totals["deposit_count"], D(totals["deposit_total"])) == (3, D("353.45"))
    assert (totals["matched_count"], D(totals["matched_total"])) == (2, D("230.00"))
    assert (totals["unmatched_deposit_count"], D(totals["unmatched_deposit_total"])) == (1, D("123.45"))
    assert (totals["remittance_count"], D(totals["remittance_total"])) == (3, D("275.00"))
    assert (totals["unmatched_remittance_count"], D(totals["unmatched_remittance_total"])) == (1, D("45.00"))


async def test_reimporting_a_bank_file_is_a_no_op(service):
    text = make_bai2(date(2032, 5, 3), [("165", 1000, unique("B"), "", make_core_trn(unique("EFT")))])
    key = unique("key")
    async with service("payments") as (_, client):
        first = await post_bank_deposits(client, text, key=key)
        assert first.status_code == 201, first.text
        again = await post_bank_deposits(client, text, content_type="application/octet-stream")
        replay = await post_bank_deposits(client, text, key=key)
        kept = await client.get(first.headers["Location"], headers=ALL)
        report = await get_reconciliation(client, "2032-05-03", "2032-05-03", as_of="2032-05-03")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    assert [d["id"] for d in again.json()["deposits"]] == [d["id"] for d in first.json()["deposits"]]
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert kept.status_code == 200 and kept.json()["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert report["totals"]["deposit_count"] == 1


async def test_an_eft_with_the_right_trace_but_another_amount_is_a_discrepancy(service):
    trace = unique("EFT")
    async with service("payments") as (_, client):
        await post_835s(client, make_remittance(trace, "100.00", "20320510"))
        resp = await post_bank_deposits(
            client, make_bai2(date(2032, 5, 10), [("165", 9900, unique("B"), "", make_core_trn(trace))])
        )
        assert resp.status_code == 201, resp.text
        report = await get_reconciliation(client, "2032-05-10", "2032-05-10", as_of="2032-05-10")
    assert report["matched"]["items"] == []
    [wrong] = report["discrepancies"]["items"]
    assert (wrong["trace_number"], wrong["rule"], wrong["status"]) == (trace, "eft_trace", "discrepancy")
    assert (D(wrong["deposit_amount"]), D(wrong["expected_amount"])) == (D("99.00"), D("100.00"))
    assert D(wrong["difference"]) == D("-1.00") == D(report["totals"]["discrepancy_total"])
    assert report["unmatched_deposits"]["items"] == [] and report["unmatched_remittances"]["items"] == []


async def test_the_csv_fallback_matches_an_eft_a_check_and_a_card_batch(service):
    eft, check, batch = unique("EFT"), digits(), unique("BATCH")
    async with service("payments") as (_, client):
        await post_835s(
            client,
            make_remittance(eft, "60.00", "20320517"),
            make_remittance(check, "70.00", "20320517", method="CHK"),
        )
        account = unique("acct")
        await post_charge(client, account, "55.00")  # payments takes money for known accounts only
        for amount in ("20.00", "30.00"):
            paid = await client.post(
                "/v1/payments",
                json={"account_id": account, "amount": amount, "method": "card", "settlement_batch": batch},
                headers=make_headers(),
            )
            assert paid.status_code == 201, paid.text
        daily = await client.post(
            "/v1/payments",
            json={"account_id": account, "amount": "5.00", "method": "card"},
            headers=make_headers(),
        )
        csv = HEADER + (
            f"2032-05-17,60.00,ach,{eft},,,HCCLAIMPMT SANDBOX HEALTH\n"
            f"2032-05-17,70.00,check,,{check},,DEPOSIT\n"
            f"2032-05-17,50.00,card,,,{batch},BANKCARD SETTLEMENT\n"
            "2032-05-17,9.99,other,,,,INTEREST\n"
        )
        resp = await post_bank_deposits(client, csv, content_type="text/csv")
        assert resp.status_code == 201, resp.text
        report = await get_reconciliation(client, "2032-05-17", "2032-05-17", as_of="2032-05-18")
    # A card payment without the processor's batch id is in the day's batch (UTC posting date).
    body = daily.json()
    assert body["settlement_batch"] == body["posted_at"][:10].replace("-", "")
    assert resp.json()["format"] == "csv"
    matched = by_reference(report["matched"]["items"])
    assert {k: m["rule"] for k, m in matched.items()} == {
        eft: "eft_trace",
        check: "check_number",
        batch: "card_batch",
    }
    assert D(matched[batch]["deposit_amount"]) == D(matched[batch]["expected_amount"]) == D("50.00")
    [interest] = report["unmatched_deposits"]["items"]
    assert (D(interest["amount"]), interest["kind"], interest["age_days"]) == (D("9.99"), "other", 1)


async def test_a_malformed_bank_file_is_refused_naming_the_record_and_rule_and_kept(service):
    good = make_bai2(date(2032, 5, 24), [("165", 1000, "BREF1", "", make_core_trn("SECRET-TRACE-1"))])
    lines = good.splitlines()  # 1: 01, 2: 02, 3: 03, 4: 16, 5: 49, 6: 98, 7: 99
    bad_amount = good.replace(",1000,Z,", ",10.00,Z,")
    bad_total = "\n".join([*lines[:4], "49,1001,3/", *lines[5:]]) + "\n"
    bad_csv = HEADER + "2032-05-24,1e2,ach,TRACE,,,\n"
    async with service("payments") as (_, client):
        amount = await post_bank_deposits(client, bad_amount)
        total = await post_bank_deposits(client, bad_total)
        csv = await post_bank_deposits(client, bad_csv, content_type="text/csv")
        media = await post_bank_deposits(client, good, content_type="application/json")
        files = await client.get("/v1/bank-deposit-files", params={"status": "refused"}, headers=ALL)
        report = await get_reconciliation(client, "2032-05-24", "2032-05-24", as_of="2032-05-24")
    for resp, field, rule in (
        (amount, "record[4].16.amount", "amount"),
        (total, "record[5].49", "control_total"),
        (csv, "row[2].amount", "money_format"),  # shared.money: one rule set for money
    ):
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert (resp.json()["errors"][0]["field"], resp.json()["errors"][0]["rule"]) == (field, rule)
        # The problem never echoes the value; its correlation id is random hex, which may hold "1e2".
        said = json.dumps({k: v for k, v in resp.json().items() if k != "correlation_id"})
        assert "SECRET" not in said and "10.00" not in said and "1e2" not in said
    assert media.status_code == 415
    refused = {f["sha256"]: f for f in files.json()["items"]}
    for text, field in ((bad_amount, "record[4].16.amount"), (bad_csv, "row[2].amount")):
        kept = refused[hashlib.sha256(text.encode()).hexdigest()]
        assert kept["status"] == "refused" and kept["errors"][0]["field"] == field
    assert report["totals"]["deposit_count"] == 0


async def test_staff_match_and_unmatch_a_deposit_by_hand_with_a_reason(service):
    trace = unique("EFT")
    async with service("payments") as (_, client):
        await post_835s(client, make_remittance(trace, "42.00", "20320531"))
        # An ACH credit whose addenda lost the TRN: nothing to match it on automatically.
        resp = await post_bank_deposits(
            client, make_bai2(date(2032, 5, 31), [("165", 4200, unique("B"), "", "HCCLAIMPMT NO ADDENDA")])
        )
        [deposit] = resp.json()["deposits"]
        report = await get_reconciliation(client, "2032-05-31", "2032-05-31", as_of="2032-06-01")
        [remittance] = report["unmatched_remittances"]["items"]
        url = f"/v1/bank-deposits/{deposit['id']}"
        reasonless = await client.post(
            f"{url}/match", json={"remittance_id": remittance["remittance_id"]}, headers=ALL
        )
        reason = "The payer's EFT lost its TRN addenda; payer, amount and date agree."
        match = await client.post(
            f"{url}/match", json={"remittance_id": remittance["remittance_id"], "reason": reason}, headers=ALL
        )
        twice = await client.post(
            f"{url}/match", json={"remittance_id": remittance["remittance_id"], "reason": reason}, headers=ALL
        )
        matched = await get_reconciliation(client, "2032-05-31", "2032-05-31", as_of="2032-06-01")
        unmatch = await client.post(f"{url}/unmatch", json={"reason": "Wrong payer after all."}, headers=ALL)
        after = await get_reconciliation(client, "2032-05-31", "2032-05-31", as_of="2032-06-01")
        audit = await client.get(
            "/v1/audit", params={"resource_type": "deposit_match", "resource_id": deposit["id"]}, headers=ALL
        )
    assert reasonless.status_code == 422 and reasonless.json()["errors"][0]["field"] == "body.reason"
    assert match.status_code == 201, match.text
    made = match.json()
    assert (made["rule"], made["status"], made["reason"]) == ("manual", "matched", reason)
    assert twice.status_code == 409
    [row] = matched["matched"]["items"]
    assert (row["trace_number"], row["rule"], row["matched_by"]) == (trace, "manual", "test-user")
    assert matched["unmatched_deposits"]["items"] == [] == matched["unmatched_remittances"]["items"]
    assert unmatch.status_code == 200, unmatch.text
    assert after["matched"]["items"] == [] and len(after["unmatched_deposits"]["items"]) == 1
    # Every attempt is audited, the refused second match too.
    assert sorted((e["action"], e["outcome"], e["actor"]) for e in audit.json()) == [
        ("match", "rejected", "test-user"),
        ("match", "success", "test-user"),
        ("unmatch", "success", "test-user"),
    ]


async def test_an_eft_deposited_before_its_835_is_matched_when_the_835_arrives(service):
    from services.payments.reconciliation.workers import match_worker

    trace = unique("EFT")
    async with service("payments") as (app, client):
        resp = await post_bank_deposits(
            client, make_bai2(date(2032, 6, 7), [("165", 7700, unique("B"), "", make_core_trn(trace))])
        )
        [deposit] = resp.json()["deposits"]
        assert deposit["match"] is None
        await post_835s(client, make_remittance(trace, "77.00", "20320607"))
        await match_worker(app)
        matched = await get_reconciliation(client, "2032-06-07", "2032-06-07", as_of="2032-06-07")
        # Unmatched by hand, the pair is not matched again automatically.
        unmatch = await client.post(
            f"/v1/bank-deposits/{deposit['id']}/unmatch", json={"reason": "Payer recalled it."}, headers=ALL
        )
        await match_worker(app)
        after = await get_reconciliation(client, "2032-06-07", "2032-06-07", as_of="2032-06-07")
    assert [m["trace_number"] for m in matched["matched"]["items"]] == [trace]
    assert unmatch.status_code == 200, unmatch.text
    assert after["matched"]["items"] == [] and len(after["unmatched_deposits"]["items"]) == 1
