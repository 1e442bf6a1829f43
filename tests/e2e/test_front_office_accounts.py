"""The front office and the patient's account, end to end through the running platform (issue 19,
"Must show"): a dispute ticket keeps a past-due account out of the collections run until it is
resolved, and a household at 150 % of the poverty guideline gets the policy's discount, decided
by one person, approved by another and posted to payments' ledger.

HTTP only, against the processes `deploy/infra.py up` runs (frontoffice on 8007, payments,
notifications, the mail/SMS sink). Every account, ticket and application is the test's own.
The dunning clock is moved with payments' statement run for one account (`account_id`), dated
ahead (`statement_date`), so no other account of the shared platform takes a step.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.auth import mint_token
from tests.conftest import unique
from tests.e2e.platform import AUTH, URLS, eventually, get_json, register_patient

pytestmark = pytest.mark.usefixtures("platform")

FRONT = [f"{area}:{verb}" for area in ("patients", "tickets", "assistance") for verb in ("read", "write")]


def staff(subject: str, *extra: str) -> dict[str, str]:
    """A front-office user's headers: the token's subject is who the events name."""
    return {"Authorization": f"Bearer {mint_token([*FRONT, *extra], subject=subject)}"}


async def self_pay_charge(http: httpx.AsyncClient, account: str, amount: str, day: date) -> None:
    """The patient balance the stories work on: a self-pay visit, owed by the patient."""
    resp = await http.post(
        f"{URLS['payments']}/v1/accounts/{account}/charges",
        headers={**AUTH, "Idempotency-Key": unique("chg")},
        json={"amount": amount, "description": "Self-pay visit", "service_date": day.isoformat()},
    )
    assert resp.status_code == 201, resp.text


async def statement_run(http: httpx.AsyncClient, account: str, day: date) -> dict[str, Any]:
    """Payments' statement run for one account as of `day`: starts its dunning sequence and takes
    the step whose time has come (statement, final notice, referral to collections); the
    account's dunning history after it."""
    resp = await http.post(
        f"{URLS['payments']}/v1/statements/run-cycle",
        params={"statement_date": day.isoformat(), "account_id": account},
        headers=AUTH,
    )
    assert resp.status_code == 200, resp.text
    return await get_json(http, "payments", f"/v1/accounts/{account}/dunning")


async def referral_in_export(http: httpx.AsyncClient, account: str, since: date) -> dict[str, Any] | None:
    """The account's referral in the agency's export (referrals made since `since`), if any."""
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"date_from": since.isoformat(), "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        resp = await http.get(
            f"{URLS['payments']}/v1/collections/export",
            params=params,
            headers={**AUTH, "Accept": "application/json"},
        )
        assert resp.status_code == 200, resp.text
        page = resp.json()
        mine = [r for r in page["referrals"] if r["account_id"] == account]
        if mine:
            return mine[0]
        cursor = page.get("next_cursor")
        if not cursor:
            return None


async def account_holds(http: httpx.AsyncClient, account: str) -> list[dict[str, Any]]:
    return (await get_json(http, "payments", f"/v1/accounts/{account}"))["holds"]


async def test_dispute_ticket_keeps_a_past_due_account_out_of_collections_until_resolved(
    http: httpx.AsyncClient,
) -> None:
    """FDCPA § 1692g(b): a disputed debt is not collected until the dispute is answered
    (docs/tickets.md "Disputes hold the account"); resolving the ticket, whatever the answer,
    lets the account continue (docs/payments.md "The front office"). The patient hears the
    resolution by the ticket's number only (docs/notifications.md: no PHI in email or SMS)."""
    patient = unique("e2e-dispute")
    clerk = staff(unique("e2e-clerk"))
    person = {
        "first_name": "Odalys",
        "last_name": "Brennigan",
        "birth_date": "1971-08-23",
        "sex": "F",
        "address": {"line1": "88 Quarry Rd", "city": "Springfield", "state": "IL", "postal_code": "62704"},
    }
    registered = await http.post(
        f"{URLS['frontoffice']}/v1/patients", headers=clerk, json={"patient_id": patient, "patient": person}
    )
    assert registered.status_code == 201, registered.text
    contact = await register_patient(http, patient)
    day0 = date.today()
    await self_pay_charge(http, patient, "180.00", day0)

    # The dunning sequence up to its final notice: four statements 30 days apart (the first is
    # due after 30 days, so the account is past due from the second on), then the final notice.
    for days in (0, 30, 60, 90, 120):
        dunning = await statement_run(http, patient, day0 + timedelta(days=days))
    assert [s["kind"] for s in dunning["steps"]] == ["statement"] * 4 + ["final_notice"], dunning
    assert dunning["next_step"]["kind"] == "collections", dunning
    referral_day = date.fromisoformat(dunning["next_step"]["on_or_after"])

    opened = await http.post(
        f"{URLS['frontoffice']}/v1/tickets",
        headers={**clerk, "Idempotency-Key": unique("tkt")},
        json={
            "requester_kind": "patient",
            "requester_id": patient,
            "channel": "phone",
            "category": "dispute",
            "subject": "Disputes the balance",
            "description": "Says the visit was covered by a prepaid package.",
            "account_id": patient,
        },
    )
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert ticket["account_id"] == patient and ticket["category"] == "dispute"

    async def dispute_held() -> list[dict[str, Any]]:
        return [h for h in await account_holds(http, patient) if h["source_id"] == ticket["id"]]

    (hold,) = await eventually(dispute_held, what="payments holds the disputed account")
    assert hold["reason"] == "dispute" and hold["holds_collections"] and hold["holds_statements"]

    # The referral's day comes (and passes) while the dispute is open: no referral.
    for day in (referral_day, referral_day + timedelta(days=1)):
        dunning = await statement_run(http, patient, day)
        assert [s["kind"] for s in dunning["steps"]][-1] == "final_notice", dunning
        assert dunning["status"] == "paused", dunning
    assert await referral_in_export(http, patient, day0) is None

    resolved = await http.post(
        f"{URLS['frontoffice']}/v1/tickets/{ticket['id']}/resolve",
        headers=clerk,
        json={"resolution_code": "upheld", "note": "Package did not include this visit."},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"

    async def released() -> bool:
        return not await dispute_held()

    await eventually(released, what="payments releases the dispute hold")
    dunning = await statement_run(http, patient, referral_day + timedelta(days=2))
    assert [s["kind"] for s in dunning["steps"]][-1] == "collections", dunning
    assert dunning["status"] == "referred", dunning
    referral = await referral_in_export(http, patient, day0)
    assert referral is not None, "the resolved account is in the agency's export"
    assert Decimal(referral["balance"]) == Decimal("180.00")

    # The patient's notice: the ticket's number, nothing that identifies them or the debt.
    (mail,) = await eventually(
        lambda: _mail(http, contact["email"], ticket["number"]), what="the resolution email"
    )
    (sms,) = await eventually(
        lambda: _sms(http, contact["phone"], ticket["number"]), what="the resolution SMS"
    )
    for text in (mail["subject"] + "\n" + mail["text"], sms["body"]):
        assert ticket["number"] in text
        for phi in ("Odalys", "Brennigan", "1971", "08/23", "180", "Quarry", patient):
            assert phi not in text, f"the resolution notice names {phi!r}"


async def _mail(http: httpx.AsyncClient, address: str, number: str) -> list[dict[str, Any]]:
    resp = await http.get(f"{URLS['smtp-sink']}/messages", params={"to": address})
    return [m for m in resp.json() if number in m["subject"] + m["text"]]


async def _sms(http: httpx.AsyncClient, phone: str, number: str) -> list[dict[str, Any]]:
    resp = await http.get(f"{URLS['smtp-sink']}/sms", params={"to": phone})
    return [m for m in resp.json() if number in m["body"]]


SLIDING_SCALE = [
    {"tier": "full", "up_to_percent": "200.00", "discount_percent": "100.00"},
    {"tier": "three_quarters", "up_to_percent": "300.00", "discount_percent": "75.00"},
    {"tier": "half", "up_to_percent": "400.00", "discount_percent": "50.00"},
]


async def test_household_at_150_percent_of_poverty_gets_the_policy_discount_on_the_ledger(
    http: httpx.AsyncClient,
) -> None:
    """The practice's policy as data (docs/financial-assistance.md): ≤ 200 % of the 2025 HHS
    guideline → 100 % off; a household of 3 earning $39,975 is at 150 % of $26,650. The decision
    needs a document and a second person (four eyes: the decider's own approval is refused); the
    open application holds the account from collections, and the approval posts the discount
    as an adjustment on payments' ledger naming the application (docs/payments.md) and releases
    the hold."""
    patient = unique("e2e-fa")
    manager = staff(unique("e2e-manager"), "assistance:approve")
    decider = staff(unique("e2e-counselor"), "assistance:approve")
    await self_pay_charge(http, patient, "240.00", date.today())
    # A date of 2025 (its guidelines) that is the policy's own: a policy is in force from its date,
    # and a later version set by someone else for the same date would be the one set last.
    as_of = date(2025, 12, 1) + timedelta(days=int(patient[-4:], 16) % 30)

    policy = await http.put(
        f"{URLS['frontoffice']}/v1/assistance/policy",
        headers=manager,
        json={"effective_date": as_of.isoformat(), "tiers": SLIDING_SCALE, "note": "e2e sliding scale"},
    )
    assert policy.status_code in (200, 201), policy.text

    screened = await http.post(
        f"{URLS['frontoffice']}/v1/assistance/screenings",
        headers=decider,
        json={
            "patient_id": patient,
            "household_size": 3,
            "annual_income": "39975.00",
            "state": "IL",
            "screening_date": as_of.isoformat(),
        },
    )
    assert screened.status_code == 201, screened.text
    screening = screened.json()
    assert (screening["poverty_percent"], screening["tier"]) == ("150.00", "full"), screening
    assert Decimal(screening["discount_percent"]) == Decimal("100")
    why = screening["why"]
    assert (why["guidelines_year"], why["household_size"], Decimal(why["guideline_amount"])) == (
        2025,
        3,
        Decimal("26650"),
    )
    assert why["policy_id"] == policy.json()["id"]

    opened = await http.post(
        f"{URLS['frontoffice']}/v1/assistance/applications",
        headers={**decider, "Idempotency-Key": unique("fa")},
        json={"patient_id": patient, "screening_id": screening["id"]},
    )
    assert opened.status_code == 201, opened.text
    app = opened.json()
    assert app["status"] == "open" and app["account_id"] == patient
    base = f"{URLS['frontoffice']}/v1/assistance/applications/{app['id']}"

    async def assistance_hold() -> list[dict[str, Any]]:
        return [h for h in await account_holds(http, patient) if h["source_id"] == app["id"]]

    (hold,) = await eventually(assistance_hold, what="payments holds the account from collections")
    assert hold["reason"] == "financial_assistance"
    assert hold["holds_collections"] and not hold["holds_statements"]

    document = await http.post(
        f"{base}/documents",
        headers=decider,
        json={"kind": "pay_stub", "received_date": date.today().isoformat()},
    )
    assert document.status_code == 201, document.text
    decided = await http.post(f"{base}/decision", headers=decider, json={"decision": "approve"})
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["tier"]) == ("decided", "full")

    self_approved = await http.post(f"{base}/approval", headers=decider, json={"approve": True})
    assert self_approved.status_code == 403, self_approved.text
    assert "four_eyes" in self_approved.text
    approved = await http.post(f"{base}/approval", headers=manager, json={"approve": True})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    async def posted() -> dict[str, Any] | None:
        account = await get_json(http, "payments", f"/v1/accounts/{patient}")
        return account if account["financial_assistance"] else None

    account = await eventually(posted, what="payments posts the approved discount")
    (assistance,) = account["financial_assistance"]
    assert assistance["application_id"] == app["id"] and assistance["tier"] == "full"
    assert Decimal(assistance["base"]) == Decimal("240.00") == Decimal(assistance["amount"])
    assert Decimal(account["balance"]) == Decimal("0.00") == Decimal(account["patient_due"])
    assert account["holds"] == [], "the application's collections hold is released"

    ledger = await get_json(http, "payments", f"/v1/accounts/{patient}/ledger")
    rows = [e for e in ledger["entries"] if e["application_id"] == app["id"]]
    assert [(r["entry_type"], Decimal(r["amount"])) for r in rows] == [("adjustment", Decimal("-240.00"))]
    assert Decimal(ledger["balance"]) == sum(Decimal(e["amount"]) for e in ledger["entries"]) == 0
