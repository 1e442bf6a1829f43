"""Statements (JSON, HTML, PDF, statement.issued) and a late statement balance reaching
collections under the policy, with the events observed on Kafka."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    kafka_offsets,
    make_835,
    make_clp,
    make_headers,
    read_events,
    submit_claim,
    wait_for_charge,
)

TOPICS = ("payment.late", "account.sent_to_collections", "statement.issued")


async def test_statement_cycle_html_pdf_and_a_late_balance_to_collections(service, producer, servers):
    account, pcn = unique("acct"), unique("P")[:17]
    start = await kafka_offsets(servers, TOPICS)
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
        text = make_835(
            unique("TRN"), [make_clp(pcn, "1", "130", "80", "30", [("CO", "45", "20"), ("PR", "1", "30")])]
        )
        await client.post(
            "/v1/remittances", content=text, headers={**ALL, "Content-Type": "application/edi-x12"}
        )
        await client.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "45.00", "description": "Copay", "service_date": "2026-01-20"},
            headers=make_headers(),
        )
        await client.post(
            "/v1/payments",
            json={"account_id": account, "amount": "25.00", "method": "cash"},
            headers=make_headers(),
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
        (issued,) = await read_events(servers, start, "statement.issued", account, 1)
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
        (late,) = await read_events(servers, start, "payment.late", account, 1)
        assert late["plan_id"] is None and late["days_late"] == 10 and late["amount"] == "50.00"
        (referred,) = await read_events(servers, start, "account.sent_to_collections", account, 1)
        assert referred["balance"] == "50.00"
