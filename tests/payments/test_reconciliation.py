"""Reconciliation: deposits (BPR amount, trace) against postings for a date range, with
unmatched claims and provider-level adjustments, and unapplied cash."""

from __future__ import annotations

from decimal import Decimal

from shared import x12
from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    make_835,
    make_clp,
    post_charge,
    post_payment,
    submit_claim,
    wait_for_charge,
)

D = Decimal
X12 = {**ALL, "Content-Type": "application/edi-x12"}


async def test_deposits_tie_to_postings_and_unapplied_cash(service, producer):
    account, pcn, pcn2 = unique("acct"), unique("P")[:17], unique("P")[:17]
    day = "20310315"  # a date no other test uses
    async with service("payments") as (_, client):
        await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="100.00")
        await submit_claim(producer, pcn=pcn2, account=account, payer="SBX001", charge="100.00")
        await wait_for_charge(client, account, "200.00")
        trace_a, trace_b = unique("TRN"), unique("TRN")
        # A: one claim matched (80), one unknown (50) → deposit 130.
        a = make_835(
            trace_a,
            [
                make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")]),
                make_clp(unique("UNK")[:17], "1", "60", "50", "", [("CO", "45", "10")]),
            ],
            paid_date=day,
        )
        # B: one claim (100) less a provider-level recoupment of 5 → deposit 95.
        b = make_835(
            trace_b,
            [make_clp(pcn2, "1", "100", "100")],
            plb=x12.seg("PLB", "1234567893", "20311231", "WO:OVERPAY1", "5"),
            paid_date=day,
        )
        for text in (a, b):
            resp = await client.post("/v1/remittances", content=text, headers=X12)
            assert resp.status_code == 201, resp.text
        params = {"date_from": "2031-03-15", "date_to": "2031-03-15"}
        before = (await client.get("/v1/reports/reconciliation", params=params, headers=ALL)).json()
        walkin = unique("walkin")  # a 10.00 visit paid with 22.34: 12.34 left unapplied
        await post_charge(client, walkin, "10.00")
        await post_payment(client, walkin, "22.34")
        report = await client.get(
            "/v1/reports/reconciliation",
            params={"date_from": "2031-03-15", "date_to": "2031-03-15"},
            headers=ALL,
        )
        assert report.status_code == 200, report.text
        body = report.json()
        deposits = {d["trace_number"]: d for d in body["deposits"]}
        assert set(deposits) == {trace_a, trace_b}
        assert (
            D(deposits[trace_a]["deposit"]),
            D(deposits[trace_a]["posted"]),
            D(deposits[trace_a]["unmatched"]),
        ) == (D("130.00"), D("80.00"), D("50.00"))
        assert (
            D(deposits[trace_b]["deposit"]),
            D(deposits[trace_b]["posted"]),
            D(deposits[trace_b]["unmatched"]),
        ) == (D("95.00"), D("95.00"), D("0.00"))
        assert D(body["deposit_total"]) == D("225.00") and D(body["posted_total"]) == D("175.00")
        assert D(body["unapplied_insurance"]) == D("50.00") and D(body["difference_total"]) == 0
        # What a walk-in paid beyond the visit is unapplied cash.
        assert D(body["unapplied_patient_credit"]) - D(before["unapplied_patient_credit"]) == D("12.34")
        bad = await client.get(
            "/v1/reports/reconciliation",
            params={"date_from": "2031-03-16", "date_to": "2031-03-15"},
            headers=ALL,
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.date_from"
        missing = await client.get(
            "/v1/reports/reconciliation", params={"date_from": "2031-03-15"}, headers=ALL
        )
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "query.date_to"
