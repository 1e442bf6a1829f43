"""Issue 17, item 9: money-moving limits (OWASP API6, unrestricted access to a business flow).

Found: a $9,999,999,999.99 payment or write-off was accepted from anyone with
`payments:write`. Wanted:

- practice-configurable maximums per kind of amount (a patient payment, an insurer payment or
  deposit, a refund, a write-off or adjustment), kept by payments and changed only through
  `PUT /v1/money-limits` (`payments:admin`, audited);
- an amount over its maximum is a 422 problem+json naming the field and the rule, never the
  amount, and nothing is written;
- a write-off or adjustment over the practice's approval threshold waits (202) for a second
  person with `payments:admin` (the approvals of issue 15): the ledger moves only when someone
  other than the requester approves, and only once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import token, unique
from tests.payments.helpers import (
    make_835,
    make_clp,
    post_835,
    post_adjustment,
    post_bank_deposits,
    post_charge,
    post_payment,
    post_refund,
)
from tests.security.helpers import api_only, get_audit_rows

HUGE = "9999999999.99"
CLERK_SUBJECT = unique("clerk")
CLERK = token("payments:read", "payments:write", subject=CLERK_SUBJECT)
# The requester holding payments:admin too: refused as the same person, not for a scope.
CLERK_AS_ADMIN = token("payments:read", "payments:write", "payments:admin", subject=CLERK_SUBJECT)
MANAGER_SUBJECT = unique("manager")
MANAGER = token("payments:read", "payments:admin", subject=MANAGER_SUBJECT)
LIMITS = "/v1/money-limits"


@pytest.fixture
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    """Payments over HTTP; the practice's limits as they were are put back afterwards."""
    async with api_only("payments", settings) as (_, client):
        before = (await client.get(LIMITS, headers=MANAGER)).json()
        yield client
        restored = await client.put(LIMITS, json=settable(before), headers=MANAGER)
        assert restored.status_code == 200, restored.text


def settable(limits: dict[str, Any]) -> dict[str, str]:
    """The writable part of GET /v1/money-limits."""
    return {
        k: limits[k]
        for k in ("patient_payment", "insurer_payment", "refund", "write_off", "approval_threshold")
    }


async def set_limits(client: httpx.AsyncClient, **changes: str) -> dict[str, Any]:
    current = (await client.get(LIMITS, headers=MANAGER)).json()
    changed = await client.put(LIMITS, json={**settable(current), **changes}, headers=MANAGER)
    assert changed.status_code == 200, changed.text
    return changed.json()


def rules(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


async def ledger_rows(admin, account: str) -> int:
    return await admin.fetchval("SELECT count(*) FROM payments.ledger_entries WHERE account_id = $1", account)


async def test_an_over_maximum_payment_or_refund_is_refused_by_rule_and_writes_nothing(client, admin):
    limits = await set_limits(client, patient_payment="500.00", refund="30.00")
    account = unique("acct")
    assert (await post_charge(client, account, "40.00")).status_code == 201
    before = await ledger_rows(admin, account)
    for amount in (HUGE, "500.01"):
        for path, body in (
            ("/v1/payments", {"account_id": account, "amount": amount, "method": "card"}),
            (f"/v1/accounts/{account}/payments", {"amount": amount, "method": "card"}),
        ):
            headers = {**CLERK, "Idempotency-Key": unique("key")}
            refused = await client.post(path, json=body, headers=headers)
            assert refused.status_code == 422, refused.text
            assert rules(refused) == [("body.amount", "max_patient_payment")]
            assert amount not in refused.text
    assert await ledger_rows(admin, account) == before
    payments = "SELECT count(*) FROM payments.patient_payments WHERE account_id = $1"
    assert await admin.fetchval(payments, account) == 0
    assert limits["patient_payment"] == "500.00"

    paid = await post_payment(client, account, "500.00")  # at the maximum itself
    assert paid.status_code == 201, paid.text
    before = await ledger_rows(admin, account)
    refund = await post_refund(client, paid.json()["id"], "30.01")
    assert refund.status_code == 422 and rules(refund) == [("body.amount", "max_refund")]
    assert "30.01" not in refund.text
    assert await ledger_rows(admin, account) == before
    assert (await post_refund(client, paid.json()["id"], "30.00")).status_code == 201


async def test_an_over_maximum_write_off_is_refused_by_rule_and_asks_nobody(client, admin):
    await set_limits(client, write_off="1000.00")
    account = unique("acct")
    assert (await post_charge(client, account, "5000.00")).status_code == 201
    before = await ledger_rows(admin, account)
    for amount, direction in ((HUGE, "credit"), ("1000.01", "credit"), ("1000.01", "debit")):
        refused = await post_adjustment(client, account, amount, direction)
        assert refused.status_code == 422, refused.text
        assert rules(refused) == [("body.amount", "max_write_off")]
        assert amount not in refused.text
    assert await ledger_rows(admin, account) == before
    asked = "SELECT count(*) FROM payments.approvals WHERE subject = $1"
    assert await admin.fetchval(asked, account) == 0  # not even waiting for approval


async def test_a_write_off_over_the_threshold_moves_money_only_when_a_second_admin_approves(client, admin):
    await set_limits(client, approval_threshold="100.00", write_off="10000.00")
    account = unique("acct")
    assert (await post_charge(client, account, "500.00")).status_code == 201
    small = await client.post(
        f"/v1/accounts/{account}/adjustments",
        json={"amount": "60.00", "direction": "credit", "reason": "courtesy"},
        headers={**CLERK, "Idempotency-Key": unique("key")},
    )
    assert small.status_code == 201, small.text  # under the threshold: at once
    before = await ledger_rows(admin, account)

    asked = await client.post(
        f"/v1/accounts/{account}/adjustments",
        json={"amount": "150.00", "direction": "credit", "reason": "hardship write-off"},
        headers={**CLERK, "Idempotency-Key": unique("key")},
    )
    assert asked.status_code == 202, asked.text
    approval = asked.json()
    assert (approval["status"], approval["requested_by"]) == ("pending", CLERK_SUBJECT)
    assert asked.headers["Location"] == f"/v1/approvals/{approval['id']}"
    assert await ledger_rows(admin, account) == before  # nothing moved yet

    url = f"/v1/approvals/{approval['id']}/approve"
    own = await client.post(url, headers=CLERK_AS_ADMIN)
    assert own.status_code == 403 and rules(own) == [("actor", "four_eyes")]
    assert (await client.post(url, headers=CLERK)).status_code == 403  # no approver scope at all
    assert await ledger_rows(admin, account) == before

    done = await client.post(url, headers=MANAGER)  # payments:admin, another person
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decided_by"]) == ("approved", MANAGER_SUBJECT)
    again = await client.post(url, headers=MANAGER)
    assert again.status_code == 409
    rows = await admin.fetch(
        "SELECT amount FROM payments.ledger_entries WHERE account_id = $1 AND entry_type = 'adjustment' "
        "AND description = 'Adjustment: hardship write-off'",
        account,
    )
    assert [r["amount"] for r in rows] == [Decimal("-150.00")]  # posted once
    balance = (await client.get(f"/v1/accounts/{account}", headers=MANAGER)).json()["balance"]
    assert balance == "290.00"


async def test_the_maximums_are_the_practices_to_change_through_an_audited_admin_route(client, admin):
    current = (await client.get(LIMITS, headers=CLERK)).json()
    assert set(settable(current)) <= set(current)
    wanted = {**settable(current), "patient_payment": "25.00", "approval_threshold": "10.00"}

    refused = await client.put(LIMITS, json=wanted, headers=CLERK)
    assert refused.status_code == 403  # payments:write cannot raise its own limits
    assert (await client.get(LIMITS, headers=CLERK)).json()["patient_payment"] == current["patient_payment"]
    for bad, rule in (("0", "greater_than"), ("-5", "money_format"), (HUGE + "9", "money_decimals")):
        invalid = await client.put(LIMITS, json={**wanted, "refund": bad}, headers=MANAGER)
        assert invalid.status_code == 422 and rules(invalid) == [("body.refund", rule)], invalid.text

    correlation = unique("corr")
    changed = await client.put(LIMITS, json=wanted, headers={**MANAGER, "X-Correlation-Id": correlation})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["patient_payment"], changed.json()["changed_by"]) == ("25.00", MANAGER_SUBJECT)
    assert (await client.get(LIMITS, headers=CLERK)).json() == changed.json()
    audit = await get_audit_rows(admin, "payments", correlation_id=correlation)
    assert [(r["actor"], r["resource_type"], r["action"], r["outcome"]) for r in audit] == [
        (MANAGER_SUBJECT, "money_limits", "update", "success")
    ]
    assert audit[0]["resource_id"] == str(changed.json()["version"])

    account = unique("acct")
    assert (await post_charge(client, account, "100.00")).status_code == 201
    over = await post_payment(client, account, "25.01")
    assert over.status_code == 422 and rules(over) == [("body.amount", "max_patient_payment")]
    assert (await post_adjustment(client, account, "10.01")).status_code == 202  # the new threshold
    assert (await post_adjustment(client, account, "10.00")).status_code == 201


async def test_an_insurer_payment_or_deposit_over_the_maximum_is_refused_and_posts_nothing(client, admin):
    await set_limits(client, insurer_payment="1000.00")
    pcn, trace = unique("P")[:17], unique("TRN")
    text = make_835(trace, [make_clp(pcn, "1", "5000", "1500.01", "0", [("CO", "45", "3499.99")])])
    refused = await post_835(client, text)
    assert refused.status_code == 422, refused.text
    assert [(f.rsplit(".", 1)[-1], r) for f, r in rules(refused)] == [("BPR02", "max_insurer_payment")]
    assert "1500.01" not in refused.text
    posted = "SELECT count(*) FROM payments.remittances WHERE trace_number = $1"
    assert await admin.fetchval(posted, trace) == 0

    csv = "date,amount,type,reference\n2026-01-10,12.00,ach,T1\n2026-01-10,1000.01,ach,T2\n"
    deposits = await post_bank_deposits(client, csv, content_type="text/csv")
    assert deposits.status_code == 422, deposits.text
    assert rules(deposits) == [("row[3].amount", "max_insurer_payment")]
    assert "1000.01" not in deposits.text
