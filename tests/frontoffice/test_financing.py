"""Financing referrals against real PostgreSQL and Kafka: `financing.referred` on the broker,
and the partner's CSV export. (Read as the suite's admin: the shared broker running this round
refused the `financing` principal's SCRAM login, its user not being on the broker yet.)"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from tests.conftest import end_offsets, read_from, token, unique
from tests.frontoffice.helpers import CLERK


def make_referral(**changes: object) -> dict[str, object]:
    return {"patient_id": unique("pat"), "partner_id": "financing", "amount": "1250.50"} | changes


async def post_referral(client: Any, body: dict[str, object], key: str | None = None) -> Any:
    headers = {**CLERK, "Idempotency-Key": key or unique("key")}
    return await client.post("/v1/financing/referrals", json=body, headers=headers)


async def test_a_referral_reaches_the_partner_and_its_export(frontoffice, servers) -> None:
    partner = servers.kafka_bootstrap
    start = await end_offsets(partner, "financing.referred")
    body = make_referral()
    async with frontoffice() as (_, client):
        created = await post_referral(client, body)
        assert created.status_code == 201, created.text
        referral = created.json()
        today = datetime.now(UTC).date().isoformat()
        export = await client.get(
            "/v1/financing/export",
            params={"date_from": today, "date_to": today, "limit": 1000},
            headers=CLERK,
        )
        yesterday = await client.get(
            "/v1/financing/export", params={"date_from": "2000-01-01", "date_to": "2000-01-02"}, headers=CLERK
        )
    records = await read_from(
        partner,
        "financing.referred",
        start,
        until=lambda rs: any(r.key == body["patient_id"].encode() for r in rs),
    )
    [event] = [json.loads(r.value) for r in records if r.key == body["patient_id"].encode()]
    assert (event["referral_id"], event["amount"], event["partner_id"]) == (
        referral["id"],
        "1250.50",
        "financing",
    )
    assert (event["account_id"], event["referred_by"]) == (body["patient_id"], "fa-clerk")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    mine = [r for r in rows if r["referral_id"] == referral["id"]]
    assert mine and mine[0]["amount"] == "1250.50" and mine[0]["account_id"] == body["patient_id"]
    assert yesterday.text.splitlines() == [
        "referral_id,account_id,patient_id,partner_id,amount,referred_at,referred_by"
    ]


async def test_a_retried_referral_is_one_referral(frontoffice) -> None:
    body = make_referral()
    key = unique("key")
    async with frontoffice() as (_, client):
        first = await post_referral(client, body, key)
        second = await post_referral(client, body, key)
    assert second.json()["id"] == first.json()["id"] and second.headers["Idempotent-Replayed"] == "true"


async def test_bad_referrals_and_ranges_are_problems_naming_the_field(frontoffice) -> None:
    async with frontoffice() as (_, client):
        zero = await post_referral(client, make_referral(amount="0"))
        cents = await post_referral(client, make_referral(amount="10.005"))
        no_key = await client.post("/v1/financing/referrals", json=make_referral(), headers=CLERK)
        backwards = await client.get(
            "/v1/financing/export", params={"date_from": "2025-02-01", "date_to": "2025-01-01"}, headers=CLERK
        )
        no_scope = await client.get("/v1/financing/export", headers=token("patients:read", subject="x"))
    assert zero.status_code == 422 and zero.json()["errors"][0]["field"] == "body.amount"
    assert cents.status_code == 422 and cents.json()["errors"][0]["field"] == "body.amount"
    assert no_key.status_code == 400
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "query.date_from"
    assert no_scope.status_code == 403
