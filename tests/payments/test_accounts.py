"""Patient accounts through the real API and SQL: a hypothesis property test of the ledger,
50 concurrent payments with one Idempotency-Key, oldest-first application, refunds, receipts."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.conftest import running_service, unique
from tests.payments.helpers import ALL, make_headers

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
operation = st.one_of(
    st.tuples(st.just("charge"), cents),
    st.tuples(st.just("pay"), cents),
    st.tuples(st.just("adjust"), cents, st.sampled_from(["credit", "debit"])),
    st.tuples(
        st.just("refund"), st.integers(min_value=0, max_value=20), st.integers(min_value=1, max_value=100)
    ),
)


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=10))
async def test_balance_always_equals_the_sum_of_the_ledger(payments, admin, ops):
    account = unique("prop")
    expected = D("0.00")
    paid: list[tuple[str, Decimal]] = []  # payment id, what is left to refund
    for op in ops:
        if op[0] == "charge":
            resp = await payments.post(
                f"/v1/accounts/{account}/charges",
                json={"amount": str(op[1]), "description": "Office visit", "service_date": "2026-01-02"},
                headers=make_headers(),
            )
            expected += op[1]
        elif op[0] == "pay":
            resp = await payments.post(
                "/v1/payments",
                json={"account_id": account, "amount": str(op[1]), "method": "card"},
                headers=make_headers(),
            )
            paid.append((resp.json()["id"], op[1]))
            expected -= op[1]
        elif op[0] == "adjust":
            resp = await payments.post(
                f"/v1/accounts/{account}/adjustments",
                json={"amount": str(op[1]), "direction": op[2], "reason": "courtesy"},
                headers=make_headers(),
            )
            expected += -op[1] if op[2] == "credit" else op[1]
        else:
            if not paid:
                continue
            index = op[1] % len(paid)
            payment_id, left = paid[index]
            amount = (left * op[2] / 100).quantize(D("0.01"))
            if amount <= 0:
                continue
            resp = await payments.post(
                f"/v1/payments/{payment_id}/refunds", json={"amount": str(amount)}, headers=make_headers()
            )
            paid[index] = (payment_id, left - amount)
            expected += amount
        assert resp.status_code == 201, resp.text
        account_view = (await payments.get(f"/v1/accounts/{account}", headers=ALL)).json()
        ledger = (await payments.get(f"/v1/accounts/{account}/ledger", headers=ALL)).json()
        ledger_total = sum((D(e["amount"]) for e in ledger["entries"]), D("0.00"))
        assert D(account_view["balance"]) == ledger_total == D(ledger["balance"]) == expected
        assert D(account_view["balance"]) == await ledger_sum_sql(admin, account)
        assert D(account_view["patient_due"]) + D(account_view["insurance_pending"]) == expected
    # A refund beyond what is left is refused and moves nothing.
    if paid:
        payment_id, left = paid[0]
        resp = await payments.post(
            f"/v1/payments/{payment_id}/refunds",
            json={"amount": str(left + D("0.01"))},
            headers=make_headers(),
        )
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "body.amount"
        assert await ledger_sum_sql(admin, account) == expected


async def test_fifty_concurrent_payments_with_one_key_make_one_payment(payments, admin):
    account = unique("acct")
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
    assert await ledger_sum_sql(admin, account) == D("-75.10")
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
