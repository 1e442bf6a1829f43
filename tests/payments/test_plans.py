"""Payment plans: installments paid from patient payments, reminders, missed installments
reaching collections under the policy, with the events observed on Kafka and the agency's
CSV export; the background worker runs the same cycle for today."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, timedelta

import httpx

from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    get_account,
    kafka_offsets,
    make_headers,
    post_adjustment,
    post_charge,
    post_payment,
    read_events,
)

TOPICS = ("payment_plan.installment_due", "payment.late", "account.sent_to_collections")


async def test_missed_installments_reach_collections_with_events_on_kafka(service, servers, admin):
    account = unique("acct")
    start = await kafka_offsets(servers, TOPICS)
    async with service("payments") as (_, client):
        await client.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "300.00", "description": "Procedure", "service_date": "2025-12-01"},
            headers=make_headers(),
        )
        plan = await client.post(
            "/v1/payment-plans",
            json={
                "account_id": account,
                "amount": "300.00",
                "installments": 4,
                "frequency": "monthly",
                "first_due_date": "2026-01-01",
            },
            headers=ALL,
        )
        assert plan.status_code == 201, plan.text
        plan = plan.json()
        assert [(i["due_date"], i["amount"]) for i in plan["installments"]] == [
            ("2026-01-01", "75.00"),
            ("2026-02-01", "75.00"),
            ("2026-03-01", "75.00"),
            ("2026-04-01", "75.00"),
        ]
        second = await client.post(
            "/v1/payment-plans",
            json={
                **{k: plan[k] for k in ("account_id",)},
                "amount": "1.00",
                "installments": 1,
                "first_due_date": "2026-01-01",
            },
            headers=ALL,
        )
        assert second.status_code == 409
        paid = await client.post(
            "/v1/payments",
            json={"account_id": account, "amount": "75.00", "method": "card"},
            headers=make_headers(),
        )
        assert paid.status_code == 201
        state = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert [i["paid"] for i in state["installments"]] == ["75.00", "0.00", "0.00", "0.00"]

        async def cycle(as_of: str) -> dict:
            """Two replicas at once: each notice and referral still happens once."""
            responses = await asyncio.gather(
                *[
                    client.post("/v1/payment-plans/run-cycle", params={"as_of": as_of}, headers=ALL)
                    for _ in range(2)
                ]
            )
            assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
            first, second = (r.json() for r in responses)
            return {
                **first,
                "sent_to_collections": first["sent_to_collections"] + second["sent_to_collections"],
            }

        await cycle("2026-01-28")  # reminder for #2
        await cycle("2026-02-10")  # #2 missed
        await cycle("2026-02-25")  # reminder for #3
        await cycle("2026-03-10")  # #3 missed: two missed, the policy is three
        await cycle("2026-03-28")  # reminder for #4
        state = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert state["status"] == "active"
        result = await cycle("2026-04-10")  # #4 missed: the third → collections
        assert result["sent_to_collections"].count(account) == 1
        again = await cycle("2026-04-11")
        assert account not in again["sent_to_collections"]
        state = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert state["status"] == "collections"

        due = await read_events(servers, start, "payment_plan.installment_due", account, 3)
        assert [(e["installment_number"], e["due_date"], e["amount"]) for e in due] == [
            (2, "2026-02-01", "75.00"),
            (3, "2026-03-01", "75.00"),
            (4, "2026-04-01", "75.00"),
        ]
        late = await read_events(servers, start, "payment.late", account, 3)
        assert [(e["installment_number"], e["days_late"], e["plan_id"]) for e in late] == [
            (2, 9, plan["id"]),
            (3, 9, plan["id"]),
            (4, 9, plan["id"]),
        ]
        (referred,) = await read_events(servers, start, "account.sent_to_collections", account, 1)
        assert referred["balance"] == "225.00"

        published = await admin.fetch(
            "SELECT topic, count(*) AS n FROM payments.outbox WHERE event_key = $1 GROUP BY topic", account
        )
        assert {r["topic"]: r["n"] for r in published} == {
            "payment.posted": 1,
            "payment_plan.installment_due": 3,
            "payment.late": 3,
            "account.sent_to_collections": 1,
        }

        export = await client.get("/v1/collections/export", headers=ALL)
        assert export.headers["content-type"].startswith("text/csv")
        (row,) = [line for line in export.text.splitlines() if line.startswith(account + ",")]
        assert row.split(",")[1:3] == ["225.00", "3 missed installments"]
        today, yesterday = date.today(), date.today() - timedelta(days=1)
        for params, listed in (
            ({"date_from": str(today)}, True),
            ({"date_to": str(yesterday)}, False),
            ({"date_from": str(yesterday), "date_to": str(today)}, True),
        ):
            export = await client.get("/v1/collections/export", params=params, headers=ALL)
            assert (f"\n{account}," in export.text) is listed, params
        bad = await client.get(
            "/v1/collections/export", params={"date_from": str(today), "date_to": str(yesterday)}, headers=ALL
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.date_from"


async def test_a_plan_created_again_with_its_idempotency_key_is_the_same_plan(service):
    account = unique("acct")
    body = {"account_id": account, "amount": "90.00", "installments": 3, "first_due_date": "2040-01-01"}
    headers = make_headers()
    async with service("payments") as (_, client):
        await post_charge(client, account, "90.00")
        first = await client.post("/v1/payment-plans", json=body, headers=headers)
        retry = await client.post("/v1/payment-plans", json=body, headers=headers)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
        changed = await client.post("/v1/payment-plans", json={**body, "amount": "91.00"}, headers=headers)
        assert changed.status_code == 422
        without_key = await client.post("/v1/payment-plans", json=body, headers=ALL)
        assert without_key.status_code == 409


async def test_the_worker_runs_the_cycle_for_today(settings, servers):
    """The same cycle, run by the service's background worker for the real date."""
    from services.payments.plans.workers import cycle_worker
    from services.payments.service import SERVICE
    from shared.app import Worker, create_app

    account = unique("acct")
    today = date.today()
    start = await kafka_offsets(servers, TOPICS)
    fast = replace(SERVICE, workers=[Worker("plan-cycle", cycle_worker, every_seconds=0.2)])
    app = create_app(fast, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://payments") as client:
            await post_charge(client, account, "90.00")
            plan = await client.post(
                "/v1/payment-plans",
                json={
                    "account_id": account,
                    "amount": "90.00",
                    "installments": 3,
                    "frequency": "weekly",
                    "first_due_date": str(today - timedelta(days=10)),
                },
                headers=ALL,
            )
            assert plan.status_code == 201
            # #1 (10 days ago) and #2 (3 days ago) are late, #3 (in 4 days) gets its reminder.
            late = await read_events(servers, start, "payment.late", account, 2)
            due = await read_events(servers, start, "payment_plan.installment_due", account, 1)
    assert [(e["installment_number"], e["days_late"]) for e in late] == [(1, 10), (2, 3)]
    assert [(e["installment_number"], e["due_date"]) for e in due] == [(3, str(today + timedelta(days=4)))]


# --- issue 15 item 14: plans cover a balance, and can be changed or cancelled -------------------


def rules(resp: httpx.Response) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in resp.json()["errors"]]


async def test_a_plan_must_cover_an_existing_patient_balance(service):
    """Practice policy: a payment plan schedules what the patient owes now, no more. (Found: a
    $500 plan on a $0 account was accepted.)"""
    account = unique("acct")
    body = {"account_id": account, "amount": "500.00", "installments": 5, "first_due_date": "2040-01-01"}
    async with service("payments") as (_, client):
        nothing = await client.post("/v1/payment-plans", json=body, headers=make_headers())
        assert nothing.status_code == 422, nothing.text
        assert rules(nothing) == [("body.amount", "within_patient_due")]
        await post_charge(client, account, "300.00")
        await post_payment(client, account, "50.00")
        more = await client.post("/v1/payment-plans", json=body, headers=make_headers())
        assert more.status_code == 422 and rules(more) == [("body.amount", "within_patient_due")]
        fits = await client.post(
            "/v1/payment-plans", json={**body, "amount": "250.00"}, headers=make_headers()
        )
        assert fits.status_code == 201, fits.text
        # Credit nets out of what the patient owes: a plan on a balance in credit is a plan on nothing.
        other = unique("acct")
        await post_charge(client, other, "40.00")
        await post_adjustment(client, other, "40.00")
        zero = await client.post(
            "/v1/payment-plans", json={**body, "account_id": other, "amount": "1.00"}, headers=make_headers()
        )
        assert zero.status_code == 422 and rules(zero) == [("body.amount", "within_patient_due")]


async def test_a_plan_can_be_changed_and_cancelled_and_keeps_its_history(service):
    """Practice policy: a plan is renegotiated (new total, number of installments, day of the
    month) or cancelled, and every version stays readable; what was paid stays paid."""
    account = unique("acct")
    async with service("payments") as (_, client):
        await post_charge(client, account, "300.00")
        created = await client.post(
            "/v1/payment-plans",
            json={
                "account_id": account,
                "amount": "300.00",
                "installments": 3,
                "first_due_date": "2040-01-15",
            },
            headers=make_headers(),
        )
        plan = created.json()
        assert plan["version"] == 1 and [h["action"] for h in plan["history"]] == ["created"]
        await post_payment(client, account, "100.00")  # pays installment 1

        change = {"amount": "250.00", "installments": 3, "day": 1, "reason": "hardship"}
        headers = make_headers()
        changed = await client.post(f"/v1/payment-plans/{plan['id']}/changes", json=change, headers=headers)
        assert changed.status_code == 200, changed.text
        state = changed.json()
        assert (state["version"], state["total"], state["status"]) == (2, "250.00", "active")
        assert [(i["due_date"], i["amount"], i["paid"]) for i in state["installments"]] == [
            ("2040-01-15", "100.00", "100.00"),
            ("2040-02-01", "50.00", "0.00"),
            ("2040-03-01", "50.00", "0.00"),
            ("2040-04-01", "50.00", "0.00"),
        ]
        replay = await client.post(f"/v1/payment-plans/{plan['id']}/changes", json=change, headers=headers)
        assert replay.json() == state and replay.headers["Idempotent-Replayed"] == "true"
        assert (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()["version"] == 2

        # The rest must still fit what the patient owes (200.00 after the payment).
        over = await client.post(
            f"/v1/payment-plans/{plan['id']}/changes", json={"amount": "300.01"}, headers=make_headers()
        )
        assert over.status_code == 422 and rules(over) == [("body.amount", "within_patient_due")]
        below_paid = await client.post(
            f"/v1/payment-plans/{plan['id']}/changes", json={"amount": "99.99"}, headers=make_headers()
        )
        assert below_paid.status_code == 422 and rules(below_paid) == [("body.amount", "at_least_paid")]
        empty = await client.post(f"/v1/payment-plans/{plan['id']}/changes", json={}, headers=make_headers())
        assert empty.status_code == 422

        cancelled = await client.post(
            f"/v1/payment-plans/{plan['id']}/cancel",
            json={"reason": "paid elsewhere"},
            headers=make_headers(),
        )
        assert cancelled.status_code == 200, cancelled.text
        state = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert (state["status"], state["version"]) == ("cancelled", 3)
        history = state["history"]
        assert [(h["version"], h["action"], h["total"], h["installment_count"]) for h in history] == [
            (1, "created", "300.00", 3),
            (2, "changed", "250.00", 4),
            (3, "cancelled", "250.00", 4),
        ]
        assert history[1]["reason"] == "hardship" and history[2]["reason"] == "paid elsewhere"
        assert [i["due_date"] for i in history[0]["installments"]] == [
            "2040-01-15",
            "2040-02-15",
            "2040-03-15",
        ]
        assert all(h["actor"] for h in history)

        again = await client.post(
            f"/v1/payment-plans/{plan['id']}/changes", json={"installments": 2}, headers=make_headers()
        )
        assert again.status_code == 409
        # A cancelled plan takes no more payments; a new plan may be made.
        await post_payment(client, account, "10.00")
        after = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert [i["paid"] for i in after["installments"]] == ["100.00", "0.00", "0.00", "0.00"]
        assert (await get_account(client, account))["patient_due"] == "190.00"
        new = await client.post(
            "/v1/payment-plans",
            json={
                "account_id": account,
                "amount": "190.00",
                "installments": 2,
                "first_due_date": "2040-02-01",
            },
            headers=make_headers(),
        )
        assert new.status_code == 201, new.text
