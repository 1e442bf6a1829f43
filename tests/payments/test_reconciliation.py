"""The reconciliation report: bank deposits against the day's 835s (tests/payments/
test_bank_deposits.py has the matching rules), the money of those 835s not yet applied to a
claim, unapplied patient cash, paged and aged worklists, and the range rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared import x12
from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    get_reconciliation,
    make_835,
    make_bai2,
    make_clp,
    make_core_trn,
    post_835,
    post_bank_deposits,
    post_charge,
    post_payment,
    submit_claim,
    wait_for_charge,
)

D = Decimal


async def test_the_days_835s_unapplied_cash_and_the_range_rules(service, producer):
    account, pcn, pcn2 = unique("acct"), unique("P")[:17], unique("P")[:17]
    day = "20310315"  # a date no other test uses
    async with service("payments") as (_, client):
        await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="100.00")
        await submit_claim(producer, pcn=pcn2, account=account, payer="SBX001", charge="100.00")
        await wait_for_charge(client, account, "200.00")
        trace_a, trace_b = unique("TRN"), unique("TRN")
        # A: one claim matched (80), one unknown (50, parked) → BPR02 130.
        a = make_835(
            trace_a,
            [
                make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")]),
                make_clp(unique("UNK")[:17], "1", "60", "50", "", [("CO", "45", "10")]),
            ],
            paid_date=day,
        )
        # B: one claim (100) less a provider-level recoupment of 5 → BPR02 95.
        b = make_835(
            trace_b,
            [make_clp(pcn2, "1", "100", "100")],
            plb=x12.seg("PLB", "1234567893", "20311231", "WO:OVERPAY1", "5"),
            paid_date=day,
        )
        for text in (a, b):
            resp = await post_835(client, text)
            assert resp.status_code == 201, resp.text
        before = await get_reconciliation(client, "2031-03-15", "2031-03-15", as_of="2031-03-20")
        walkin = unique("walkin")  # a 10.00 visit paid with 22.34: 12.34 left unapplied
        await post_charge(client, walkin, "10.00")
        await post_payment(client, walkin, "22.34")
        body = await get_reconciliation(client, "2031-03-15", "2031-03-15", as_of="2031-03-20")
        bad = await client.get(
            "/v1/reports/reconciliation",
            params={"date_from": "2031-03-16", "date_to": "2031-03-15"},
            headers=ALL,
        )
        missing = await client.get(
            "/v1/reports/reconciliation", params={"date_from": "2031-03-15"}, headers=ALL
        )
    totals = body["totals"]
    # No bank file that day: both 835s wait for their deposits, aged from BPR16.
    assert (totals["remittance_count"], D(totals["remittance_total"])) == (2, D("225.00"))
    assert (totals["unmatched_remittance_count"], D(totals["unmatched_remittance_total"])) == (2, D("225.00"))
    waiting = {r["trace_number"]: r for r in body["unmatched_remittances"]["items"]}
    assert {t: (D(r["amount"]), r["age_days"]) for t, r in waiting.items()} == {
        trace_a: (D("130.00"), 5),
        trace_b: (D("95.00"), 5),
    }
    assert totals["deposit_count"] == 0 and body["matched"]["items"] == []
    # The parked claim's 50 is insurance money received but not applied to a claim.
    assert D(totals["unapplied_insurance"]) == D("50.00")
    # What a walk-in paid beyond the visit is unapplied cash.
    credit = D(totals["unapplied_patient_credit"]) - D(before["totals"]["unapplied_patient_credit"])
    assert credit == D("12.34")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.date_from"
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "query.date_to"


async def test_the_unmatched_worklists_page_with_a_cursor(service):
    day = date(2032, 7, 12)
    deposits = [("195", 1000 + i, unique("B"), unique("WIRE"), "UNKNOWN ORIGINATOR") for i in range(3)]
    async with service("payments") as (_, client):
        resp = await post_bank_deposits(client, make_bai2(day, deposits))
        assert resp.status_code == 201, resp.text
        for i in range(3):
            text = make_835(unique("EFT"), [make_clp(unique("P")[:17], "1", "9", "9")], paid_date="20320712")
            assert (await post_835(client, text)).status_code == 201
        pages: dict[str, list[str]] = {}
        for path, ident in (("unmatched-deposits", "deposit_id"), ("unmatched-remittances", "remittance_id")):
            seen, cursor = [], None
            while True:
                params = {"date_from": "2032-07-12", "date_to": "2032-07-12", "limit": 1}
                resp = await client.get(
                    f"/v1/reports/reconciliation/{path}",
                    params={**params, **({"cursor": cursor} if cursor else {})},
                    headers=ALL,
                )
                assert resp.status_code == 200, resp.text
                page = resp.json()
                assert len(page["items"]) <= 1
                seen += [item[ident] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            pages[path] = seen
    assert len(set(pages["unmatched-deposits"])) == 3
    assert len(set(pages["unmatched-remittances"])) == 3


async def test_matched_and_discrepancies_page_while_the_totals_count_everything(service):
    """At history scale a range holds thousands of matches: the report answers a first page of
    each section (`limit`, 50 by default) and the totals over all of them; the rest pages on
    by cursor, each match once."""
    day, bpr16 = date(2033, 2, 14), "20330214"  # a date no other test uses
    good, bad = [unique("EFT") for _ in range(3)], [unique("EFT") for _ in range(3)]
    async with service("payments") as (_, client):
        for trace in good + bad:
            text = make_835(trace, [make_clp(unique("P")[:17], "1", "10", "10")], paid_date=bpr16)
            assert (await post_835(client, text)).status_code == 201
        # 10.00 deposited for each good trace, 9.00 for each bad one (a discrepancy of -1.00).
        lines = [("165", 1000, unique("B"), "", make_core_trn(t)) for t in good]
        lines += [("165", 900, unique("B"), "", make_core_trn(t)) for t in bad]
        resp = await post_bank_deposits(client, make_bai2(day, lines))
        assert resp.status_code == 201, resp.text
        params = {"date_from": day.isoformat(), "date_to": day.isoformat(), "limit": 2}
        resp = await client.get("/v1/reports/reconciliation", params=params, headers=ALL)
        assert resp.status_code == 200, resp.text
        report = resp.json()
        pages: dict[str, list[str]] = {}
        for section in ("matched", "discrepancies"):
            first = report[section]
            assert len(first["items"]) == 2 and first["next_cursor"], first
            seen, cursor = [m["id"] for m in first["items"]], first["next_cursor"]
            while cursor is not None:
                resp = await client.get(
                    f"/v1/reports/reconciliation/{section}", params={**params, "cursor": cursor}, headers=ALL
                )
                assert resp.status_code == 200, resp.text
                page = resp.json()
                assert len(page["items"]) <= 2
                seen += [m["id"] for m in page["items"]]
                cursor = page["next_cursor"]
            pages[section] = seen
        whole = await client.get(
            "/v1/reports/reconciliation/matched", params={**params, "limit": 500}, headers=ALL
        )
    totals = report["totals"]
    assert (totals["matched_count"], D(totals["matched_total"])) == (3, D("30.00"))
    assert (totals["discrepancy_count"], D(totals["discrepancy_total"])) == (3, D("-3.00"))
    assert len(pages["matched"]) == len(set(pages["matched"])) == 3
    assert len(pages["discrepancies"]) == len(set(pages["discrepancies"])) == 3
    assert whole.status_code == 200 and whole.json()["next_cursor"] is None
    assert {m["id"] for m in whole.json()["items"]} == set(pages["matched"])
    assert {m["status"] for m in whole.json()["items"]} == {"matched"}
