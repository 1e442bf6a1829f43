"""Patient payment input is strict (issue 15 item 11), through the real API and SQL.

The practice's policy: money is taken only as a plain decimal string with at most two decimal
places ("25.00", "25.5", "25"), because anything else is either ambiguous (a JSON number is a
binary float: 0.1 + 0.2 is not 0.3), or a way to type an amount nobody meant ("1e2" is 100,
Arabic-Indic "٢٥" is 25, " 25" is a copy-paste). A refusal names the field and the rule and
never echoes the value (it may be PHI). The same one type (`shared.money.Money`) guards every
money input of payments: payments, refunds, adjustments, charges, plans and fee schedules.

And money is taken only for an account payments knows: one with ledger rows (a claim's
charges, a self-pay charge, an earlier payment) or a copy of a claim sent for it
(`claim.submitted`). Otherwise the payment is refused and nothing is written: cash on an
account nobody owes on is cash nobody can find again.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import eventually, running_service, unique
from tests.payments.helpers import ALL, make_headers, post_charge, post_payment, submit_claim

D = Decimal

# (value as sent in JSON, the rule it breaks)
BAD_MONEY = [
    ("1e2", "money_format"),
    ("٢٥", "money_format"),  # Arabic-Indic digits
    (25.5, "money_string"),  # a JSON number
    (25, "money_string"),
    ("25.555", "money_decimals"),
    ("-5", "money_format"),
    (" 25", "money_format"),
    ("25.", "money_format"),
    ("NaN", "money_format"),
    ("12345678901.00", "money_digits"),
]


def told(problem: dict[str, Any]) -> str:
    """What a problem says in words (not its instance path, which holds ids)."""
    return json.dumps([problem.get(k) for k in ("title", "detail", "errors")], ensure_ascii=False)


@pytest.fixture(scope="module")
async def payments(settings):
    async with running_service("payments", settings) as (_, client):
        yield client


async def money_routes(client) -> list[tuple[str, str, dict, str]]:
    """(method, path, body with AMOUNT, field) of every money input of payments, on one known
    account with a payment to refund."""
    account = unique("strict")
    assert (await post_charge(client, account, "50.00")).status_code == 201
    paid = await post_payment(client, account, "20.00")
    assert paid.status_code == 201, paid.text
    pay = {"method": "card"}
    return [
        ("POST", "/v1/payments", {"account_id": account, **pay}, "body.amount"),
        ("POST", f"/v1/accounts/{account}/payments", pay, "body.amount"),
        ("POST", f"/v1/payments/{paid.json()['id']}/refunds", {}, "body.amount"),
        ("POST", f"/v1/accounts/{account}/adjustments", {"reason": "courtesy"}, "body.amount"),
        ("POST", f"/v1/accounts/{account}/charges", {"description": "Visit"}, "body.amount"),
        (
            "POST",
            "/v1/payment-plans",
            {"account_id": account, "installments": 2, "first_due_date": "2040-01-01"},
            "body.amount",
        ),
    ]


async def test_money_must_be_a_plain_decimal_string_on_every_payments_input(payments, admin):
    routes = await money_routes(payments)
    account = routes[0][2]["account_id"]
    rows_before = await admin.fetchval(
        "SELECT count(*) FROM payments.ledger_entries WHERE account_id = $1", account
    )
    for method, path, body, field in routes:
        for value, rule in BAD_MONEY:
            resp = await payments.request(
                method, path, json={**body, "amount": value}, headers=make_headers()
            )
            assert resp.status_code == 422, (path, value, resp.text)
            problem = resp.json()
            assert [(e["field"], e["rule"]) for e in problem["errors"]] == [(field, rule)], (path, value)
            if isinstance(value, str):
                assert value.strip() not in told(problem), (path, value)
    # Nothing was written by any of them.
    assert (
        await admin.fetchval("SELECT count(*) FROM payments.ledger_entries WHERE account_id = $1", account)
        == rows_before
    )
    # Plain decimal strings with up to two places are money, kept to the cent (ten digits are
    # money too, but more than a practice takes in one payment: tests/security/test_money_limits.py).
    for good, kept in (("25", "25.00"), ("25.5", "25.50"), ("0.01", "0.01"), ("50000.00", None)):
        resp = await post_payment(payments, account, good)
        assert resp.status_code == 201, (good, resp.text)
        assert kept is None or resp.json()["amount"] == kept


async def test_fee_schedule_amounts_are_money_too(payments):
    payer = unique("FEES")[:20]
    for value, rule in BAD_MONEY:
        resp = await payments.put(
            f"/v1/fee-schedules/{payer}", json={"entries": [{"code": "99213", "allowed": value}]}, headers=ALL
        )
        assert resp.status_code == 422, (value, resp.text)
        assert [(e["field"], e["rule"]) for e in resp.json()["errors"]] == [
            ("body.entries[1].allowed", rule)
        ], value
    csv = await payments.put(
        f"/v1/fee-schedules/{payer}",
        content="code,modifier,allowed\n99213,,1e2\n",
        headers={**ALL, "Content-Type": "text/csv"},
    )
    assert csv.status_code == 422 and csv.json()["errors"][0]["rule"] == "money_format"


async def test_a_payment_for_an_account_payments_does_not_know_is_refused(payments, admin):
    account = unique("nobody")
    new = await post_payment(payments, account, "25.00")
    assert new.status_code == 422, new.text
    assert [(e["field"], e["rule"]) for e in new.json()["errors"]] == [("body.account_id", "known_account")]
    assert account not in new.text
    old = await payments.post(
        f"/v1/accounts/{account}/payments", json={"amount": "25.00", "method": "cash"}, headers=make_headers()
    )
    assert old.status_code == 404, old.text
    adjusted = await payments.post(
        f"/v1/accounts/{account}/adjustments",
        json={"amount": "5.00", "direction": "debit", "reason": "fee"},
        headers=make_headers(),
    )
    assert adjusted.status_code == 404, adjusted.text
    for table in ("patient_payments", "ledger_entries"):
        assert (
            await admin.fetchval(f"SELECT count(*) FROM payments.{table} WHERE account_id = $1", account) == 0
        )


async def test_an_account_known_only_by_a_claim_copy_takes_payments(payments, producer, admin):
    """A secondary claim adds no charge (the primary's did), but payments has its copy: the
    account exists."""
    account = unique("copyonly")
    await submit_claim(
        producer,
        pcn=unique("PCN")[:20],
        account=account,
        payer="SBX002",
        charge="80.00",
        coverage_order="secondary",
    )

    async def copied() -> bool:
        return bool(
            await admin.fetchval("SELECT count(*) FROM payments.claim_copies WHERE account_id = $1", account)
        )

    await eventually(copied, timeout=60)
    assert (
        await admin.fetchval("SELECT count(*) FROM payments.ledger_entries WHERE account_id = $1", account)
        == 0
    )
    paid = await post_payment(payments, account, "10.00")
    assert paid.status_code == 201, paid.text
    assert [(a["item_id"], a["amount"]) for a in paid.json()["allocations"]] == [(None, "10.00")]
