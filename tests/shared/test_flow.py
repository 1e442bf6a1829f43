"""One real flow across services: an HTTP payment in payments becomes, through the outbox and
Kafka, a receipt in the notifications inbox; plus Idempotency-Key on that money-moving POST."""

from __future__ import annotations

import asyncio
import json

from shared.events.envelope import H_CORRELATION, H_TYPE
from tests.conftest import end_offsets, eventually, read_from, token, unique


async def open_account(client, account: str) -> None:
    """A charge of 15.00, so payments knows the account (it takes money for known accounts only)."""
    charged = await client.post(
        f"/v1/accounts/{account}/charges",
        json={"amount": "15.00", "description": "Visit"},
        headers={**token("payments:write"), "Idempotency-Key": unique("charge")},
    )
    assert charged.status_code == 201, charged.text


async def test_patient_payment_reaches_the_inbox_of_another_service(service, settings, servers):
    account = unique("acct")
    correlation = unique("corr")
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    sent_start = await end_offsets(servers.kafka_bootstrap, "notification.sent")
    async with service("payments") as (_, payments), service("notifications") as (_, notifications):
        await open_account(payments, account)
        created = await payments.post(
            f"/v1/accounts/{account}/payments",
            json={"amount": "40.25", "method": "card"},
            headers={
                **token("payments:write"),
                "Idempotency-Key": unique("key"),
                "X-Correlation-Id": correlation,
            },
        )
        assert created.status_code == 201, created.text
        payment = created.json()
        assert payment["amount"] == "40.25"

        async def inbox():
            resp = await notifications.get(
                f"/v1/recipients/{account}/inbox", headers=token("notifications:read")
            )
            assert resp.status_code == 200
            return resp.json()

        messages = await eventually(inbox)
        assert len(messages) == 1
        assert "$40.25" in messages[0]["body"] and payment["receipt_number"] in messages[0]["body"]

        # (Still inside: the notifications relay publishes its own event while it runs.)
        # The event on the broker carries the request's correlation id, keyed by the account.
        records = await read_from(
            servers.kafka_bootstrap,
            "payment.posted",
            start,
            until=lambda rs: any(r.key == account.encode() for r in rs),
        )
        record = next(r for r in records if r.key == account.encode())
        headers = dict(record.headers)
        assert headers[H_TYPE] == b"payment.posted.v1"
        assert headers[H_CORRELATION] == correlation.encode()
        assert json.loads(record.value)["payment_id"] == payment["id"]

        # ...and so does the event notifications published because of it, one hop further.
        sent = await read_from(
            servers.kafka_bootstrap,
            "notification.sent",
            sent_start,
            until=lambda rs: any(r.key == account.encode() for r in rs),
        )
        notice = next(r for r in sent if r.key == account.encode())
        assert dict(notice.headers)[H_CORRELATION] == correlation.encode()
        assert json.loads(notice.value)["cause_event_id"] == dict(record.headers)["ce_id"].decode()


async def test_idempotency_key_replays_and_never_charges_twice(service):
    account = unique("acct")
    key = unique("key")
    headers = {**token("payments:write", "payments:read"), "Idempotency-Key": key}
    body = {"amount": "15.00", "method": "cash"}
    async with service("payments") as (_, client):
        await open_account(client, account)
        first, *concurrent = await asyncio.gather(
            *[client.post(f"/v1/accounts/{account}/payments", json=body, headers=headers) for _ in range(5)]
        )
        assert first.status_code == 201
        assert all(r.status_code == 201 and r.json() == first.json() for r in concurrent)
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in [first, *concurrent]) == 4

        reused = await client.post(
            f"/v1/accounts/{account}/payments", json={**body, "amount": "16.00"}, headers=headers
        )
        assert reused.status_code == 422
        assert reused.json()["errors"][0]["field"] == "header.Idempotency-Key"

        ledger = (await client.get(f"/v1/accounts/{account}/ledger", headers=headers)).json()
        assert len(ledger["entries"]) == 2  # the charge and the one payment
        assert ledger["balance"] == "0.00"

        trail = (
            await client.get("/v1/audit", params={"patient_id": account}, headers=token("ops:read"))
        ).json()
        payments = [e for e in trail if e["resource_type"] == "patient_payment"]
        creates = [e for e in payments if e["action"] == "create" and e["outcome"] == "success"]
        assert len(creates) == 5 and {e["resource_id"] for e in creates} == {first.json()["id"]}


async def test_money_post_without_idempotency_key_is_refused(service):
    async with service("payments") as (_, client):
        resp = await client.post(
            "/v1/accounts/A-1/payments",
            json={"amount": "1.00", "method": "cash"},
            headers=token("payments:write"),
        )
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"] == [
        {"field": "header.Idempotency-Key", "rule": "missing", "message": "Send a unique key."}
    ]


async def test_idempotency_keys_expire_after_a_day_and_old_outbox_rows_are_purged(service, settings):
    """A key is replayable for 24 hours, then forgotten (a later retry is a new request);
    published outbox rows go after 7 days, recent ones stay."""
    from shared.outbox import purge_expired
    from tests.conftest import connect_as

    account = unique("ACC")
    body = {"amount": "12.00", "method": "cash"}
    fresh, stale = unique("key"), unique("key")
    async with service("payments") as (_, client):
        await open_account(client, account)
        for key in (fresh, stale):
            answer = await client.post(
                f"/v1/accounts/{account}/payments", json=body, headers={**token(), "Idempotency-Key": key}
            )
            assert answer.status_code == 201
    conn = await connect_as("payments", settings)
    try:
        await conn.execute(
            "UPDATE idempotency_keys SET created_at = clock_timestamp() - interval '25 hours' "
            "WHERE idempotency_key = $1",
            stale,
        )
        recent = await conn.fetchval("SELECT max(id) FROM outbox")
        old_published = await conn.fetchval(
            "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, headers, published_at) "
            "SELECT gen_random_uuid(), topic, event_key, event_type, payload, headers, "
            "clock_timestamp() - interval '8 days' FROM outbox WHERE id = $1 RETURNING id",
            recent,
        )
        await purge_expired(conn)
        keys = {
            r["idempotency_key"] for r in await conn.fetch("SELECT idempotency_key FROM idempotency_keys")
        }
        assert fresh in keys and stale not in keys
        remaining = {
            r["id"]
            for r in await conn.fetch("SELECT id FROM outbox WHERE id = ANY($1)", [recent, old_published])
        }
        assert remaining == {recent}
    finally:
        await conn.close()
