"""Patient accounts through the real API and SQL: a hypothesis property test of the ledger,
50 concurrent payments with one Idempotency-Key, oldest-first application, refunds, receipts."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.conftest import running_service, token, unique
from tests.payments.helpers import (
    ALL,
    aging_total,
    get_account,
    get_ledger,
    make_headers,
    post_adjustment,
    post_charge,
    post_payment,
    post_refund,
)

D = Decimal


@pytest.fixture(scope="module")
async def payments(settings):
    async with running_service("payments", settings) as (_, client):
        yield client


async def ledger_sum_sql(admin, account: str) -> Decimal:
    return await admin.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM payments.ledger_entries WHERE account_id = $1", account
    )


cents = st.integers(min_value=1, max_value=500_00).map(lambda c: D(c) / 100)
# Manual adjustments stay within the practice's approval threshold (PAYMENTS_ADJUSTMENT_APPROVAL_THRESHOLD,
# 100.00 by default); the ones above it wait for a second person (test_large_adjustments_...).
small_cents = st.integers(min_value=1, max_value=100_00).map(lambda c: D(c) / 100)
operation = st.one_of(
    st.tuples(st.just("charge"), cents),
    st.tuples(st.just("pay"), cents),
    st.tuples(st.just("adjust"), small_cents, st.just("credit"), st.booleans()),
    st.tuples(st.just("adjust"), small_cents, st.just("debit"), st.just(False)),
    st.tuples(
        st.just("refund"), st.integers(min_value=0, max_value=20), st.integers(min_value=1, max_value=100)
    ),
)


async def patient_items(admin, account: str) -> dict[str, Decimal]:
    """What the patient owes per item (SQL over the ledger)."""
    rows = await admin.fetch(
        "SELECT item_id, sum(amount) AS owed FROM payments.ledger_entries "
        "WHERE account_id = $1 AND item_id IS NOT NULL AND bucket = 'patient' GROUP BY item_id",
        account,
    )
    return {str(r["item_id"]): r["owed"] for r in rows}


def owed(items: dict[str, Decimal]) -> Decimal:
    return sum((v for v in items.values() if v > 0), D("0.00"))


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=10))
async def test_balance_always_equals_the_sum_of_the_ledger_and_of_the_aging(payments, admin, ops):
    """Charges, payments, refunds and bounded adjustments in any order: the balance is the
    ledger's sum (API and SQL) and the model's; the aging adds up to what it ages (the open
    items: balance + unapplied credit + refund due); no item is credited below zero; and a
    refund never re-opens an item while the account still has credit (issue 15 items 10, 12)."""
    account = unique("prop")
    assert (await post_charge(payments, account, "10.00")).status_code == 201
    expected = D("10.00")
    paid: list[tuple[str, Decimal]] = []  # payment id, what is left to refund
    for op in ops:
        items_before = await patient_items(admin, account)
        if op[0] == "charge":
            resp = await post_charge(payments, account, str(op[1]))
            expected += op[1]
        elif op[0] == "pay":
            resp = await post_payment(payments, account, str(op[1]))
            paid.append((resp.json()["id"], op[1]))
            expected -= op[1]
        elif op[0] == "adjust":
            _, amount, direction, refund_due = op
            resp = await post_adjustment(payments, account, str(amount), direction, refund_due=refund_due)
            if direction == "credit" and amount > owed(items_before) and not refund_due:
                assert resp.status_code == 422, resp.text
                assert [(e["field"], e["rule"]) for e in resp.json()["errors"]] == [
                    ("body.amount", "within_balance")
                ]
                assert await ledger_sum_sql(admin, account) == expected
                continue
            expected += -amount if direction == "credit" else amount
        else:
            if not paid:
                continue
            index = op[1] % len(paid)
            payment_id, left = paid[index]
            amount = (left * op[2] / 100).quantize(D("0.01"))
            if amount <= 0:
                continue
            resp = await post_refund(payments, payment_id, str(amount))
            paid[index] = (payment_id, left - amount)
            expected += amount
        assert resp.status_code == 201, resp.text
        account_view = await get_account(payments, account)
        ledger = await get_ledger(payments, account)
        ledger_total = sum((D(e["amount"]) for e in ledger["entries"]), D("0.00"))
        balance = D(account_view["balance"])
        assert balance == ledger_total == D(ledger["balance"]) == expected
        assert balance == await ledger_sum_sql(admin, account)
        assert D(account_view["patient_due"]) + D(account_view["insurance_pending"]) == expected
        credit, refund_due = D(account_view["unapplied_credit"]), D(account_view["refund_due"])
        assert aging_total(account_view) == D(account_view["aged_balance"]) == balance + credit + refund_due
        items_after = await patient_items(admin, account)
        assert all(v >= 0 for v in items_after.values()), items_after
        if op[0] == "refund" and owed(items_after) > owed(items_before):
            assert credit == 0, "an item re-opened while the account still had credit"
    # A refund beyond what is left is refused and moves nothing.
    if paid:
        payment_id, left = paid[0]
        resp = await post_refund(payments, payment_id, str(left + D("0.01")))
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "body.amount"
        assert await ledger_sum_sql(admin, account) == expected


async def test_fifty_concurrent_payments_with_one_key_make_one_payment(payments, admin):
    account = unique("acct")
    assert (await post_charge(payments, account, "100.00")).status_code == 201
    headers = {**ALL, "Idempotency-Key": unique("key")}
    body = {"account_id": account, "amount": "75.10", "method": "ach"}
    responses = await asyncio.gather(
        *[payments.post("/v1/payments", json=body, headers=headers) for _ in range(50)]
    )
    assert [r.status_code for r in responses] == [201] * 50
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 49
    assert (
        await admin.fetchval("SELECT count(*) FROM payments.patient_payments WHERE account_id = $1", account)
        == 1
    )
    assert await ledger_sum_sql(admin, account) == D("24.90")
    reused = await payments.post("/v1/payments", json={**body, "amount": "75.11"}, headers=headers)
    assert reused.status_code == 422
    missing = await payments.post("/v1/payments", json=body, headers=ALL)
    assert missing.status_code == 400


async def test_payment_applies_to_the_oldest_open_balance_unless_told(payments):
    account = unique("acct")

    async def charge(amount: str, when: date) -> str:
        resp = await payments.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": amount, "description": "Visit", "service_date": when.isoformat()},
            headers=make_headers(),
        )
        return resp.json()["item_id"]

    newer = await charge("50.00", date(2026, 3, 1))
    older = await charge("40.00", date(2026, 1, 15))
    first = await payments.post(
        "/v1/payments",
        json={"account_id": account, "amount": "60.00", "method": "cash"},
        headers=make_headers(),
    )
    assert first.status_code == 201
    assert [(a["item_id"], a["amount"]) for a in first.json()["allocations"]] == [
        (older, "40.00"),
        (newer, "20.00"),
    ]
    # Told otherwise: a new charge is paid first, before the (older) remainder.
    newest = await charge("10.00", date(2026, 4, 1))
    second = await payments.post(
        "/v1/payments",
        json={
            "account_id": account,
            "amount": "35.00",
            "method": "check",
            "reference": "1042",
            "apply_to": newest,
        },
        headers=make_headers(),
    )
    assert [(a["item_id"], a["amount"]) for a in second.json()["allocations"]] == [
        (newest, "10.00"),
        (newer, "25.00"),
    ]
    account_view = (await payments.get(f"/v1/accounts/{account}", headers=ALL)).json()
    assert account_view["patient_due"] == "5.00" and account_view["unapplied_credit"] == "0.00"

    # Refund 30 of the second payment: the newest items it paid owe again.
    refund = await payments.post(
        f"/v1/payments/{second.json()['id']}/refunds",
        json={"amount": "30.00", "reason": "overpaid"},
        headers=make_headers(),
    )
    assert refund.status_code == 201
    receipt = (await payments.get(f"/v1/payments/{second.json()['id']}/receipt", headers=ALL)).json()
    assert receipt["receipt_number"] == second.json()["receipt_number"]
    assert receipt["refunded"] == "30.00"
    assert sum(D(a["amount"]) for a in receipt["applied"]) == D("5.00")
    account_view = (await payments.get(f"/v1/accounts/{account}", headers=ALL)).json()
    assert account_view["patient_due"] == "35.00" and account_view["balance"] == "35.00"
    assert sum(D(v) for v in account_view["aging"].values()) == D("35.00")


# --- issue 15 item 10: adjustments are bounded, large ones need a second person -----------------


def rules(resp) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in resp.json()["errors"]]


async def test_a_credit_beyond_the_balance_is_refused_unless_marked_refund_due(payments):
    """Practice policy: a write-off or discount takes off at most what is owed on what it
    applies to; more than that is money the practice owes back, recorded as a refund due, not a
    negative charge. (Found: a $100 credit on a $24 account left a balance of -76.)"""
    account = unique("acct")
    first = (await post_charge(payments, account, "24.00")).json()["item_id"]

    refused = await post_adjustment(payments, account, "100.00")
    assert refused.status_code == 422, refused.text
    assert rules(refused) == [("body.amount", "within_balance")]
    assert "100" not in str([refused.json().get("detail"), refused.json()["errors"]])
    assert len((await get_ledger(payments, account))["entries"]) == 1

    marked = await post_adjustment(payments, account, "100.00", refund_due=True)
    assert marked.status_code == 201, marked.text
    view = await get_account(payments, account)
    assert (view["balance"], view["refund_due"], view["unapplied_credit"]) == ("-76.00", "76.00", "0.00")
    assert aging_total(view) == D(view["aged_balance"]) == 0
    rows = [
        (e["entry_type"], e["item_id"], e["amount"]) for e in (await get_ledger(payments, account))["entries"]
    ]
    assert rows[1:] == [("adjustment", first, "-24.00"), ("refund_due", None, "-76.00")]

    # A named item bounds the credit by its own balance, whatever else the account owes.
    second = (await post_charge(payments, account, "30.00")).json()["item_id"]
    await post_charge(payments, account, "40.00")
    over = await post_adjustment(payments, account, "30.01", item_id=second)
    assert over.status_code == 422 and rules(over) == [("body.amount", "within_balance")]
    fits = await post_adjustment(payments, account, "30.00", item_id=second)
    assert fits.status_code == 201 and fits.json()["item_id"] == second
    debit_refund = await post_adjustment(payments, account, "5.00", "debit", refund_due=True)
    assert debit_refund.status_code == 422 and rules(debit_refund) == [("body.refund_due", "credit_only")]


async def test_a_debit_is_owed_and_aged_like_any_charge(payments):
    """The aging is the open items by date of service, and must add up to the balance it ages.
    Found: after a credit took an item to zero (or below), a $100 debit went to no item at all
    (the debit chose 'the oldest item the patient owes on', there was none, so it became
    unapplied money), and open items (grouped by item) never saw it: aging 0.00 everywhere."""
    account = unique("acct")
    await post_charge(payments, account, "24.00")
    assert (await post_adjustment(payments, account, "24.00")).status_code == 201
    debit = await post_adjustment(payments, account, "100.00", "debit")
    assert debit.status_code == 201, debit.text
    assert debit.json()["item_id"] is not None
    view = await get_account(payments, account)
    assert view["balance"] == "100.00"
    assert aging_total(view) == D(view["aged_balance"]) == D("100.00")


ASKER = token("payments:read", "payments:write", subject="clerk-a")
APPROVER = token("payments:read", "payments:approve", subject="manager-b")


async def test_large_adjustments_wait_for_a_second_person(payments):
    """Practice policy (PAYMENTS_ADJUSTMENT_APPROVAL_THRESHOLD, 100.00): a manual adjustment
    or write-off over the threshold is written only once someone else approves it."""
    account = unique("acct")
    await post_charge(payments, account, "500.00")
    headers = {**ASKER, "Idempotency-Key": unique("key")}
    body = {"amount": "150.00", "direction": "credit", "reason": "hardship write-off"}
    asked = await payments.post(f"/v1/accounts/{account}/adjustments", json=body, headers=headers)
    assert asked.status_code == 202, asked.text
    approval = asked.json()
    assert asked.headers["Location"] == f"/v1/approvals/{approval['id']}"
    assert (approval["kind"], approval["status"], approval["subject"]) == ("adjustment", "pending", account)
    assert approval["summary"]["amount"] == "150.00" and approval["summary"]["direction"] == "credit"
    again = await payments.post(f"/v1/accounts/{account}/adjustments", json=body, headers=headers)
    assert again.status_code == 202 and again.json()["id"] == approval["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await get_account(payments, account))["balance"] == "500.00"

    own = await payments.post(f"/v1/approvals/{approval['id']}/approve", headers=ASKER)
    assert own.status_code == 403
    done = await payments.post(f"/v1/approvals/{approval['id']}/approve", headers=APPROVER)
    assert done.status_code == 200, done.text
    assert done.json()["result"]["amount"] == "-150.00"
    assert (await get_account(payments, account))["balance"] == "350.00"

    # At the threshold itself no approval is needed.
    assert (await post_adjustment(payments, account, "100.00")).status_code == 201
    # The bound is checked when asked and again when approved: the balance may have moved.
    asked = await post_adjustment(payments, account, "200.00")
    assert asked.status_code == 202
    assert (await post_payment(payments, account, "100.00")).status_code == 201
    late = await payments.post(f"/v1/approvals/{asked.json()['id']}/approve", headers=APPROVER)
    assert late.status_code == 422 and rules(late) == [("body.amount", "within_balance")]
    still = (await payments.get(f"/v1/approvals/{asked.json()['id']}", headers=APPROVER)).json()
    assert still["status"] == "pending"
    too_big = await post_adjustment(payments, account, "150.01")
    assert too_big.status_code == 422 and rules(too_big) == [("body.amount", "within_balance")]
    assert (await get_account(payments, account))["balance"] == "150.00"


# --- issue 15 item 12: refunds draw on the account's existing credit ----------------------------


async def test_a_refund_draws_on_the_accounts_credit_before_re_opening_anything(payments):
    """Practice policy: money refunded comes out of the patient's credit with us first; a paid
    visit owes again only when no credit is left to cover it. (Found: refunding a $20 payment
    re-opened $20 in aging while $84 of unapplied credit sat on the account.)"""
    account = unique("acct")
    visit = (await post_charge(payments, account, "20.00")).json()["item_id"]
    first = (await post_payment(payments, account, "20.00")).json()
    second = (await post_payment(payments, account, "84.00")).json()
    assert [a["item_id"] for a in second["allocations"]] == [None]

    refund = await post_refund(payments, first["id"], "20.00")
    assert refund.status_code == 201, refund.text
    view = await get_account(payments, account)
    assert (view["balance"], view["unapplied_credit"], view["patient_due"]) == ("-64.00", "64.00", "-64.00")
    assert aging_total(view) == D(view["aged_balance"]) == 0
    ledger = (await get_ledger(payments, account))["entries"]
    moved = {
        (e["entry_type"], e["item_id"], e["payment_id"], e["amount"])
        for e in ledger
        if e["refund_id"] == refund.json()["id"]
    }
    assert moved == {
        ("refund", visit, first["id"], "20.00"),
        ("payment", None, second["id"], "20.00"),
        ("payment", visit, second["id"], "-20.00"),
    }
    receipt = (await payments.get(f"/v1/payments/{second['id']}/receipt", headers=ALL)).json()
    assert {(a["item_id"], a["amount"]) for a in receipt["applied"]} == {(visit, "20.00"), (None, "64.00")}

    # Credit that covers only part of it: the rest owes again.
    other = unique("acct")
    await post_charge(payments, other, "30.00")
    paid = (await post_payment(payments, other, "30.00")).json()
    await post_payment(payments, other, "5.00")
    assert (await post_refund(payments, paid["id"], "30.00")).status_code == 201
    view = await get_account(payments, other)
    assert (view["balance"], view["unapplied_credit"], view["patient_due"]) == ("25.00", "0.00", "25.00")
    assert aging_total(view) == D("25.00")
