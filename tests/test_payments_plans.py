"""Statements (JSON, HTML, PDF, statement.issued) and payment plans: installments paid from
patient payments, reminders, missed installments and late balances reaching collections
under the policy, with the events observed on Kafka and the agency's CSV export."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from tests.conftest import end_offsets, read_from, unique
from tests.test_payments_helpers import ALL, build_835, clp, resumable, submit_claim, wait_for_charge


@pytest.fixture(scope="session")
def settings(settings):
    return resumable(settings)


D = Decimal
TOPICS = ("payment_plan.installment_due", "payment.late", "account.sent_to_collections", "statement.issued")


async def offsets(servers):
    return {t: await end_offsets(servers.kafka_bootstrap, t) for t in TOPICS}


async def events_for(servers, start, topic, account, count):
    records = await read_from(
        servers.kafka_bootstrap,
        topic,
        start[topic],
        until=lambda rs: sum(r.key == account.encode() for r in rs) >= count,
    )
    return [json.loads(r.value) for r in records if r.key == account.encode()]


def key():
    return {**ALL, "Idempotency-Key": unique("key")}


async def test_missed_installments_reach_collections_with_events_on_kafka(service, servers):
    account = unique("acct")
    start = await offsets(servers)
    async with service("payments") as (_, client):
        await client.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "300.00", "description": "Procedure", "service_date": "2025-12-01"},
            headers=key(),
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
            "/v1/payments", json={"account_id": account, "amount": "75.00", "method": "card"}, headers=key()
        )
        assert paid.status_code == 201
        state = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert [i["paid"] for i in state["installments"]] == ["75.00", "0.00", "0.00", "0.00"]

        async def cycle(as_of: str) -> dict:
            resp = await client.post("/v1/payment-plans/run-cycle", params={"as_of": as_of}, headers=ALL)
            assert resp.status_code == 200, resp.text
            return resp.json()

        await cycle("2026-01-28")  # reminder for #2
        await cycle("2026-02-10")  # #2 missed
        await cycle("2026-02-25")  # reminder for #3
        await cycle("2026-03-10")  # #3 missed: two missed, the policy is three
        await cycle("2026-03-28")  # reminder for #4
        state = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert state["status"] == "active"
        result = await cycle("2026-04-10")  # #4 missed: the third → collections
        assert account in result["sent_to_collections"]
        again = await cycle("2026-04-11")
        assert account not in again["sent_to_collections"]
        state = (await client.get(f"/v1/payment-plans/{plan['id']}", headers=ALL)).json()
        assert state["status"] == "collections"

        due = await events_for(servers, start, "payment_plan.installment_due", account, 3)
        assert [(e["installment_number"], e["due_date"], e["amount"]) for e in due] == [
            (2, "2026-02-01", "75.00"),
            (3, "2026-03-01", "75.00"),
            (4, "2026-04-01", "75.00"),
        ]
        late = await events_for(servers, start, "payment.late", account, 3)
        assert [(e["installment_number"], e["days_late"], e["plan_id"]) for e in late] == [
            (2, 9, plan["id"]),
            (3, 9, plan["id"]),
            (4, 9, plan["id"]),
        ]
        (referred,) = await events_for(servers, start, "account.sent_to_collections", account, 1)
        assert referred["balance"] == "225.00"

        export = await client.get("/v1/collections/export", headers=ALL)
        assert export.headers["content-type"].startswith("text/csv")
        (row,) = [line for line in export.text.splitlines() if line.startswith(account + ",")]
        assert row.split(",")[1:3] == ["225.00", "3 missed installments"]


async def test_statement_cycle_html_pdf_and_a_late_balance_to_collections(service, producer, servers):
    account, pcn = unique("acct"), unique("P")[:17]
    start = await offsets(servers)
    async with service("payments") as (_, client):
        await submit_claim(
            producer,
            pcn=pcn,
            account=account,
            payer="SBX001",
            charge="130.00",
            date_of_service=date(2026, 1, 5),
        )
        await wait_for_charge(client, account, "130.00")
        text = build_835(
            unique("TRN"), [clp(pcn, "1", "130", "80", "30", [("CO", "45", "20"), ("PR", "1", "30")])]
        )
        await client.post(
            "/v1/remittances", content=text, headers={**ALL, "Content-Type": "application/edi-x12"}
        )
        await client.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "45.00", "description": "Copay", "service_date": "2026-01-20"},
            headers=key(),
        )
        await client.post(
            "/v1/payments", json={"account_id": account, "amount": "25.00", "method": "cash"}, headers=key()
        )

        run = await client.post(
            "/v1/statements/run-cycle",
            params={"statement_date": "2026-02-01", "account_id": account},
            headers=ALL,
        )
        (statement_id,) = run.json()["issued"]
        rerun = await client.post(
            "/v1/statements/run-cycle",
            params={"statement_date": "2026-02-01", "account_id": account},
            headers=ALL,
        )
        assert rerun.json()["issued"] == []
        statement = (await client.get(f"/v1/statements/{statement_id}", headers=ALL)).json()
        assert statement["amount_due"] == "50.00" and statement["due_date"] == "2026-03-03"
        claim_line, copay_line = statement["lines"]
        assert (
            claim_line["charges"],
            claim_line["insurance_paid"],
            claim_line["adjustments"],
            claim_line["due"],
        ) == ("130.00", "80.00", "20.00", "5.00")  # the 25.00 payment went to the oldest balance first
        assert (copay_line["charges"], copay_line["due"]) == ("45.00", "45.00")
        html = await client.get(f"/v1/statements/{statement_id}/html", headers=ALL)
        assert (
            html.headers["content-type"].startswith("text/html")
            and "amount due 50.00 by 2026-03-03" in html.text
        )
        pdf = await client.get(f"/v1/statements/{statement_id}/pdf", headers=ALL)
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        (issued,) = await events_for(servers, start, "statement.issued", account, 1)
        assert issued["statement_id"] == statement_id and issued["balance"] == "50.00"

        # No plan, unpaid: late once past the due date, collections after 120 days.
        due = date(2026, 3, 3)
        await client.post(
            "/v1/payment-plans/run-cycle", params={"as_of": str(due + timedelta(days=10))}, headers=ALL
        )
        result = (
            await client.post(
                "/v1/payment-plans/run-cycle", params={"as_of": str(due + timedelta(days=120))}, headers=ALL
            )
        ).json()
        assert account in result["sent_to_collections"]
        (late,) = await events_for(servers, start, "payment.late", account, 1)
        assert late["plan_id"] is None and late["days_late"] == 10 and late["amount"] == "50.00"
        (referred,) = await events_for(servers, start, "account.sent_to_collections", account, 1)
        assert referred["balance"] == "50.00"


async def test_the_worker_runs_the_cycle_for_today(settings, servers):
    """The same cycle, run by the service's background worker for the real date."""
    from services.payments import plans
    from services.payments.service import SERVICE
    from shared.app import Worker, create_app

    account = unique("acct")
    today = date.today()
    start = await offsets(servers)
    fast = replace(SERVICE, workers=[Worker("plan-cycle", plans.cycle_worker, every_seconds=0.2)])
    app = create_app(fast, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://payments") as client:
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
            late = await events_for(servers, start, "payment.late", account, 2)
            due = await events_for(servers, start, "payment_plan.installment_due", account, 1)
    assert [(e["installment_number"], e["days_late"]) for e in late] == [(1, 10), (2, 3)]
    assert [(e["installment_number"], e["due_date"]) for e in due] == [(3, str(today + timedelta(days=4)))]
