"""Financing referrals against real PostgreSQL and Kafka: `financing.referred` on the broker,
and the partner's CSV export. (Read as the suite's admin: the shared broker running this round
refused the `financing` principal's SCRAM login, its user not being on the broker yet.)"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.conftest import end_offsets, read_from, token, unique
from tests.frontoffice.helpers import CLERK, WRITE, make_patient, post_patient


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
        "referral_id,account_id,patient_id,partner_id,amount,referred_at,referred_by,"
        "first_name,last_name,phone,email,address_line1,address_line2,city,state,postal_code"
    ]


async def test_the_export_carries_the_registry_contact_and_audits_its_patients(frontoffice, admin) -> None:
    registered = make_patient(
        address={
            "line1": "9 Oak Ave",
            "line2": "Apt 2",
            "city": "Peoria",
            "state": "IL",
            "postal_code": "61602",
        }
    )
    unknown = unique("pat")
    correlation = str(uuid.uuid4())
    async with frontoffice() as (_, client):
        assert (await post_patient(client, token(*WRITE), registered)).status_code == 201
        ours = [
            (await post_referral(client, make_referral(patient_id=pid))).json()["id"]
            for pid in (registered["patient_id"], unknown)
        ]
        today = datetime.now(UTC).date().isoformat()
        export = await client.get(
            "/v1/financing/export",
            params={"date_from": today, "date_to": today, "limit": 1000},
            headers={**CLERK, "X-Correlation-Id": correlation},
        )
    assert export.status_code == 200, export.text
    rows = list(csv.DictReader(io.StringIO(export.text)))
    by_id = {r["referral_id"]: r for r in rows}
    known, missing = by_id[ours[0]], by_id[ours[1]]
    contact = {k: known[k] for k in ("first_name", "last_name", "phone", "email")}
    assert contact == {
        "first_name": "Maria",
        "last_name": "Lopez",
        "phone": "2175550100",
        "email": "maria@example.org",
    }
    address = [known[k] for k in ("address_line1", "address_line2", "city", "state", "postal_code")]
    assert address == ["9 Oak Ave", "Apt 2", "Peoria", "IL", "61602"]
    assert missing["patient_id"] == unknown
    assert all(
        missing[k] == ""
        for k in ("first_name", "last_name", "phone", "email", "address_line1", "postal_code")
    )
    # the minimum necessary: no birth date (nor sex) leaves with the export
    assert "1984-03-09" not in export.text and "birth" not in export.text
    [entry] = await admin.fetch(
        "SELECT patient_ids FROM frontoffice.audit_log WHERE correlation_id = $1", correlation
    )
    assert set(entry["patient_ids"]) == {r["patient_id"] for r in rows} >= {registered["patient_id"], unknown}


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
