"""The collections report over the ledger, for a date range (date_from/date_to, each
defaulting to today): what a charge and a payment made today add, and ranges refused."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.conftest import unique
from tests.payments.helpers import ALL, make_headers

D = Decimal


async def test_todays_charge_and_payment_are_in_todays_collections(service):
    account = unique("acct")
    today = str(date.today())
    async with service("payments") as (_, client):
        before = (await client.get("/v1/reports/collections", headers=ALL)).json()
        assert before["date_from"] == before["date_to"] == today
        await client.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "80.00", "description": "Visit"},
            headers=make_headers(),
        )
        await client.post(
            "/v1/payments",
            json={"account_id": account, "amount": "30.00", "method": "cash"},
            headers=make_headers(),
        )
        after = await client.get(
            "/v1/reports/collections", params={"date_from": today, "date_to": today}, headers=ALL
        )
        assert after.status_code == 200, after.text
        after = after.json()
        assert D(after["charges"]) - D(before["charges"]) == D("80.00")
        assert D(after["patient_payments"]) - D(before["patient_payments"]) == D("30.00")
        assert D(after["patient_ar"]) - D(before["patient_ar"]) == D("50.00")
        earlier = str(date.today() - timedelta(days=400))
        old = (await client.get("/v1/reports/collections", params={"date_to": earlier}, headers=ALL)).json()
        assert old["date_from"] == old["date_to"] == earlier


async def test_a_range_that_ends_before_it_starts_is_refused(service):
    tomorrow = str(date.today() + timedelta(days=1))
    async with service("payments") as (_, client):
        for params in ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, {"date_from": tomorrow}):
            resp = await client.get("/v1/reports/collections", params=params, headers=ALL)
            assert resp.status_code == 422, params
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert resp.json()["errors"][0]["field"] == "query.date_from"
