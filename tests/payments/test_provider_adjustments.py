"""Provider-level adjustments (835 PLB) tied to claims, and forward balances (issue 15 item 7).

005010X221A1, PLB segment: PLB03-1 is the adjustment reason (FB forward balance, WO
overpayment recovery, L6 interest owed, CV capital passthrough, WU unspecified recovery, ...),
PLB03-2 the reference identification, PLB04 the amount: a positive amount decreases the
payment, a negative amount increases it (BPR02 = Σ CLP04 - Σ PLB04). When PLB03-2 names a
claim (its patient control number, CLP01, or the payer's claim control number, CLP07, alone or
as "PCN ICN"), the adjustment belongs to that claim and its account. A forward balance (FB)
carries an amount from one remittance to a later one, where the payer recovers it with the
same reference and the opposite sign."""

from __future__ import annotations

from decimal import Decimal

from shared import x12
from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    get_account,
    get_ledger,
    make_835,
    make_clp,
    post_835,
    submit_claim,
    wait_for_charge,
)

D = Decimal


async def _payer(client) -> tuple[str, str]:
    payer, ident = unique("PAYER")[:20], unique("ID")[:20]
    await client.put(f"/v1/payers/{payer}", json={"name": "PLB payer", "identifiers": [ident]}, headers=ALL)
    return payer, ident


async def _claim(client, producer, payer: str, charge: str) -> tuple[str, str, str]:
    account, pcn = unique("acct"), unique("P")[:17]
    claim_id = await submit_claim(producer, pcn=pcn, account=account, payer=payer, charge=charge)
    await wait_for_charge(client, account, charge)
    return str(claim_id), account, pcn


def _plb(*pairs: tuple[str, str]) -> list[str]:
    """PLB01 provider, PLB02 fiscal period end, then (PLB03 reason:reference, PLB04 amount) pairs."""
    return x12.seg("PLB", "1234567893", "20261231", *[e for pair in pairs for e in pair])


async def _post(client, ident: str, claims, plb: list[str] | None, amount: str) -> dict:
    resp = await post_835(client, make_835(unique("TRN"), claims, payer_ref=ident, plb=plb, amount=amount))
    assert resp.status_code == 201, resp.text
    return resp.json()["remittances"][0]


async def test_a_plb_that_names_a_claim_is_tied_to_it_and_a_recoupment_clears_its_credit(service, producer):
    async with service("payments") as (_, client):
        payer, ident = await _payer(client)
        claim_id, account, pcn = await _claim(client, producer, payer, "100.00")
        other_id, other_account, other_pcn = await _claim(client, producer, payer, "150.00")
        icn = unique("ICN")[:20]
        await _post(client, ident, [make_clp(pcn, "1", "100", "100", pccn=icn)], None, "100")
        # The payer pays the same claim twice (a duplicate payment): the claim has a 100.00 credit.
        await _post(client, ident, [make_clp(pcn, "1", "100", "100", pccn=unique("ICN")[:20])], None, "100")
        assert D((await get_account(client, account))["insurance_pending"]) == D("-100.00")

        # Next remittance: a new claim paid, the overpayment recovered (WO, reference "PCN ICN"),
        # interest on the first claim (L6, reference the ICN alone, negative: paid to us), a
        # capital passthrough and a recovery naming no claim we know.
        plb = _plb(
            (f"WO:{pcn} {icn}", "100"),
            (f"L6:{icn}", "-2.5"),
            ("CV:CP", "-1.27"),
            ("WU:NOSUCHCLAIM", "5"),
        )
        summary = await _post(client, ident, [make_clp(other_pcn, "1", "150", "150")], plb, "48.77")
        by_reason = {p["reason_code"]: p for p in summary["provider_level_adjustments"]}
        assert (by_reason["WO"]["claim_id"], by_reason["WO"]["account_id"]) == (claim_id, account)
        assert (by_reason["L6"]["claim_id"], by_reason["L6"]["account_id"]) == (claim_id, account)
        assert by_reason["CV"]["claim_id"] is None and by_reason["WU"]["claim_id"] is None
        assert {r: p["effect"] for r, p in by_reason.items()} == {
            "WO": "claim_ledger",
            "L6": "claim_reference",
            "CV": "provider",
            "WU": "provider",
        }

        # The recoupment is on the claim's item, with insurance: its credit is back to zero.
        after = await get_account(client, account)
        assert D(after["insurance_pending"]) == 0 and D(after["balance"]) == 0
        plb_rows = [e for e in (await get_ledger(client, account))["entries"] if e["provider_adjustment_id"]]
        assert [(e["entry_type"], e["bucket"], D(e["amount"]), e["item_id"]) for e in plb_rows] == [
            ("insurance_payment", "insurance", D("100.00"), claim_id)
        ]
        assert plb_rows[0]["provider_adjustment_id"] == by_reason["WO"]["id"]
        # The claim's account view shows what the payer did at provider level about its claims.
        shown = {
            (p["reason_code"], D(p["amount"]), p["claim_id"], p["remittance_id"])
            for p in after["provider_adjustments"]
        }
        assert shown == {
            ("WO", D("100.00"), claim_id, summary["id"]),
            ("L6", D("-2.50"), claim_id, summary["id"]),
        }
        assert (await get_account(client, other_account))["provider_adjustments"] == []
        assert other_id


async def test_forward_balances_are_tracked_until_recovered(service, producer):
    async with service("payments") as (_, client):
        payer, ident = await _payer(client)
        claim_a, account_a, pcn_a = await _claim(client, producer, payer, "100.00")
        _, _, pcn_b = await _claim(client, producer, payer, "50.00")
        _, _, pcn_c = await _claim(client, producer, payer, "60.00")
        icn = unique("ICN")[:20]
        await _post(client, ident, [make_clp(pcn_a, "1", "100", "100", pccn=icn)], None, "100")

        # The payer reprocesses claim A lower (reversal, then 70.00): the remittance nets to
        # -30.00, which the payer carries forward (FB, negative: added to this payment) so that
        # BPR02 is 0, to take it back from a later one.
        reprocessed = [
            make_clp(pcn_a, "22", "-100", "-100", pccn=icn),
            make_clp(pcn_a, "1", "100", "70", "", [("CO", "45", "30")], pccn=icn),
        ]
        opened = await _post(client, ident, reprocessed, _plb((f"FB:{icn}", "-30")), "0")
        (fb_line,) = opened["provider_level_adjustments"]
        assert fb_line["effect"] == "forward_balance" and fb_line["claim_id"] == claim_a
        # The claim was settled at claim level; the forward balance is cash, not the claim's.
        assert D((await get_account(client, account_a))["balance"]) == 0

        listed = (await client.get("/v1/forward-balances", params={"payer_id": payer}, headers=ALL)).json()
        (fb,) = listed["items"]
        assert (fb["reference"], fb["status"], fb["claim_id"]) == (icn, "open", claim_a)
        assert D(fb["opened_amount"]) == D("-30.00") and D(fb["open_amount"]) == D("-30.00")
        assert fb["opened_by_remittance_id"] == opened["id"] and fb["recovered_by_remittance_id"] is None
        totals = (
            await client.get("/v1/reports/forward-balances", params={"payer_id": payer}, headers=ALL)
        ).json()
        assert [(t["payer_id"], t["open_count"], D(t["open_amount"])) for t in totals["rows"]] == [
            (payer, 1, D("-30.00"))
        ]

        # Recovered in two later remittances: 10.00 coded WO with the same reference (as Medicare
        # recovers what it carried forward), then the remaining 20.00 as FB.
        part = await _post(client, ident, [make_clp(pcn_b, "1", "50", "50")], _plb((f"WO:{icn}", "10")), "40")
        assert part["provider_level_adjustments"][0]["effect"] == "forward_balance"
        assert D((await get_account(client, account_a))["balance"]) == 0
        (fb,) = (await client.get("/v1/forward-balances", params={"payer_id": payer}, headers=ALL)).json()[
            "items"
        ]
        assert fb["status"] == "open" and D(fb["open_amount"]) == D("-20.00")
        rest = await _post(client, ident, [make_clp(pcn_c, "1", "60", "60")], _plb((f"FB:{icn}", "20")), "40")

        (fb,) = (await client.get("/v1/forward-balances", params={"payer_id": payer}, headers=ALL)).json()[
            "items"
        ]
        assert fb["status"] == "recovered" and D(fb["open_amount"]) == 0
        assert fb["recovered_by_remittance_id"] == rest["id"]
        assert [(r["remittance_id"], D(r["amount"])) for r in fb["recoveries"]] == [
            (part["id"], D("10.00")),
            (rest["id"], D("20.00")),
        ]
        open_now = await client.get(
            "/v1/forward-balances", params={"payer_id": payer, "status": "open"}, headers=ALL
        )
        assert open_now.json()["items"] == []
        totals = (
            await client.get("/v1/reports/forward-balances", params={"payer_id": payer}, headers=ALL)
        ).json()
        assert [(t["open_count"], D(t["open_amount"]), t["recovered_count"]) for t in totals["rows"]] == [
            (0, D("0.00"), 1)
        ]
