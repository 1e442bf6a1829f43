"""Statements (JSON, HTML, PDF, statement.issued), the rule that a statement is never dated
before the services on it, the practice's dunning sequence one step per cycle, and a
statement a patient can understand and pay (its PDF's text read back with pypdf).

The practice's policy (docs/payments.md, "Statements" and "Dunning"): a statement states
what the patient owes on its date, so it cannot predate a service on it; an account that
keeps owing gets statements at 0, 30, 60 and 90 days, then a final notice, then after a
waiting period it is referred to collections, one step per cycle, each step recorded."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

from pypdf import PdfReader

from services.payments.settings import payments_settings
from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    DUNNING_DAYS,
    get_dunning,
    kafka_offsets,
    make_835,
    make_clp,
    make_headers,
    make_person,
    post_835,
    post_cycle,
    post_statement_run,
    publish_encounter,
    read_events,
    submit_claim,
    wait_for_charge,
    wait_for_parties,
)

TOPICS = ("payment.late", "account.sent_to_collections", "statement.issued", "account_notice.issued")
PROCEDURES = Path(__file__).resolve().parents[2] / "services" / "payments" / "data" / "procedures.csv"


async def test_statement_cycle_json_html_pdf_and_its_event(service, producer, servers):
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
        await post_835(client, text)
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

        run = await post_statement_run(client, account, "2026-02-01")
        (statement_id,) = run.json()["issued"]
        rerun = await post_statement_run(client, account, "2026-02-01")
        assert rerun.json()["issued"] == []
        statement = (await client.get(f"/v1/statements/{statement_id}", headers=ALL)).json()
        assert statement["amount_due"] == "50.00" and statement["due_date"] == "2026-03-03"
        claim_line, copay_line = statement["lines"]
        assert (
            claim_line["charges"],
            claim_line["insurance_paid"],
            claim_line["adjustments"],
            claim_line["patient_paid"],
            claim_line["due"],
        ) == ("130.00", "80.00", "20.00", "25.00", "5.00")  # the 25.00 went to the oldest balance first
        assert (copay_line["charges"], copay_line["due"]) == ("45.00", "45.00")
        html = await client.get(f"/v1/statements/{statement_id}/html", headers=ALL)
        assert html.headers["content-type"].startswith("text/html")
        assert "Amount due" in html.text and "$50.00" in html.text and "Mar 3, 2026" in html.text
        pdf = await client.get(f"/v1/statements/{statement_id}/pdf", headers=ALL)
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        (issued,) = await read_events(servers, start, "statement.issued", account, 1)
        assert issued["statement_id"] == statement_id and issued["balance"] == "50.00"


async def test_a_statement_is_never_dated_before_the_services_on_it(service, admin):
    """Policy: a statement states what is owed on its date; a service after that date cannot be
    on it (issue 15: a statement dated 2026-06-27 for a service on 2026-12-03 was due in the past)."""
    account = unique("acct")
    async with service("payments") as (_, client):
        await client.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "80.00", "description": "Office visit", "service_date": "2026-12-03"},
            headers=make_headers(),
        )
        backdated = await post_statement_run(client, account, "2026-06-27")
        assert backdated.status_code == 422, backdated.text
        (error,) = backdated.json()["errors"]
        assert (error["field"], error["rule"]) == ("query.statement_date", "not_before_date_of_service")
        assert "2026-12-03" not in backdated.text  # the rule is named, the data is not echoed
        written = await admin.fetchval(
            "SELECT count(*) FROM payments.statements WHERE account_id = $1", account
        )
        assert written == 0
        assert (await get_dunning(client, account))["steps"] == []
        # On the service date itself the statement goes out.
        assert len((await post_statement_run(client, account, "2026-12-03")).json()["issued"]) == 1


async def test_the_dunning_sequence_takes_one_recorded_step_per_cycle_before_collections(
    service, servers, admin
):
    """Policy (services/payments/settings.py defaults): statements at 0, 30, 60 and 90 days, a
    final notice 30 days after the last statement, then a 30-day wait before collections. A
    cycle moves an account at most one step, and the late notice and the referral never go out
    in the same cycle."""
    account = unique("acct")
    first = date(2026, 1, 10)
    start = await kafka_offsets(servers, TOPICS)
    async with service("payments") as (_, client):
        await client.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "200.00", "description": "Office visit", "service_date": "2026-01-05"},
            headers=make_headers(),
        )
        assert len((await post_statement_run(client, account, str(first))).json()["issued"]) == 1
        # 29 days on: too early for the second statement.
        early = await post_cycle(client, str(first + timedelta(days=29)))
        assert account not in early["sent_to_collections"]
        assert [s["step"] for s in (await get_dunning(client, account))["steps"]] == [1]
        # A cycle run long overdue still takes only the next step.
        await post_cycle(client, str(first + timedelta(days=200)))
        history = await get_dunning(client, account)
        assert [(s["step"], s["kind"], s["step_date"]) for s in history["steps"]] == [
            (1, "statement", str(first)),
            (2, "statement", str(first + timedelta(days=200))),
        ]
        # From there each step waits its interval after the one before.
        taken = first + timedelta(days=200)
        referred_on = None
        for interval in (30, 30, 30, 30):
            await post_cycle(client, str(taken + timedelta(days=interval - 1)))  # one day early: nothing
            taken += timedelta(days=interval)
            result = await post_cycle(client, str(taken))
            if account in result["sent_to_collections"]:
                referred_on = taken
        assert referred_on == first + timedelta(days=200 + 120)
        history = await get_dunning(client, account)
        steps = [(s["step"], s["kind"], s["step_date"]) for s in history["steps"]]
        assert [k for _, k, _ in steps] == ["statement"] * 4 + ["final_notice", "collections"]
        assert steps[-1][2] == str(referred_on) and history["status"] == "referred"
        statement_ids = [s["statement_id"] for s in history["steps"] if s["kind"] == "statement"]
        assert len(set(statement_ids)) == 4 and None not in statement_ids
        stored = await admin.fetchval(
            "SELECT count(*) FROM payments.statements WHERE account_id = $1", account
        )
        assert stored == 4

        # One notice per account per cycle, its parts in order; never a late notice with the referral.
        notices = await read_events(servers, start, "account_notice.issued", account, 6)
        kinds = [[p["kind"] for p in n["parts"]] for n in notices]
        assert kinds == [
            ["statement"],
            ["past_due_statement"],
            ["past_due_statement"],
            ["past_due_statement"],
            ["final_notice"],
            ["sent_to_collections"],
        ]
        assert len({n["cycle_date"] for n in notices}) == 6
        (referred,) = await read_events(servers, start, "account.sent_to_collections", account, 1)
        assert referred["balance"] == "200.00" and referred["notice_id"] == notices[-1]["notice_id"]
    assert DUNNING_DAYS == (0, 30, 60, 90, 120, 150)


async def test_the_statement_pdf_explains_each_visit_and_how_to_pay(service, producer, admin):
    """Policy: a statement tells the patient who billed them and how to pay (practice, remit-to,
    portal, phone, a mail-in stub), what each visit was, what the insurer paid and why the
    patient owes the rest (835 CAS group PR: 1 deductible, 2 coinsurance, 3 copay), what they
    paid, and the amount due; it carries no PHI the patient does not need (no birth date,
    member id or diagnosis)."""
    account, pcn = unique("acct"), unique("P")[:17]
    async with service("payments") as (_, client):
        await publish_encounter(producer, account, make_person("Jane", "Doe", phone="+15555550142"))
        await wait_for_parties(admin, account)
        await submit_claim(
            producer,
            pcn=pcn,
            account=account,
            payer="SBX001",
            charge="180.00",
            date_of_service=date(2026, 1, 5),
            lines=[("99213", "150.00"), ("36415", "30.00")],
        )
        await wait_for_charge(client, account, "180.00")
        # The copay is collected at check-in, before the payer has said what the patient owes.
        paid = await client.post(
            "/v1/payments",
            json={"account_id": account, "amount": "25.00", "method": "card"},
            headers=make_headers(),
        )
        assert paid.status_code == 201
        adjustments = [("CO", "45", "30"), ("PR", "1", "40"), ("PR", "2", "17"), ("PR", "3", "25")]
        assert (
            await post_835(
                client, make_835(unique("TRN"), [make_clp(pcn, "1", "180", "68", "82", adjustments)])
            )
        ).status_code == 201

        (statement_id,) = (await post_statement_run(client, account, "2026-01-20")).json()["issued"]
        statement = (await client.get(f"/v1/statements/{statement_id}", headers=ALL)).json()
        assert statement["amount_due"] == "57.00"
        visit = statement["lines"][0]
        assert visit["patient_paid"] == "25.00", visit  # "You paid": the copay paid at check-in

        pdf = await client.get(f"/v1/statements/{statement_id}/pdf", headers=ALL)
        text = " ".join(
            " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.content)).pages).split()
        )
        s = payments_settings()
        for needed in (
            s.practice_name,
            s.practice_address,
            s.practice_phone,
            s.remit_to_name,
            s.remit_to_address,
            s.payment_portal_url,
            f"Account number {account}",
            "Amount enclosed",
            "Statement date Jan 20, 2026",
            "Due date Feb 19, 2026",
            "Sandbox Health Plan",
        ):
            assert needed in text, (needed, text)
        labels = dict(row for row in csv.reader(PROCEDURES.read_text().splitlines()[1:]))
        for code in ("99213", "36415"):
            assert f"{labels[code]} ({code})" in text, (code, text)
        assert "Charge 36415" not in text
        for label, amount in (("Deductible", "40.00"), ("Coinsurance", "17.00"), ("Copay", "25.00")):
            assert re.search(rf"{label}\W[^$]*\$?{amount}", text), (label, text)
        assert re.search(r"Insurance paid \$?68\.00", text), text
        assert re.search(r"You paid \$?25\.00", text), text
        assert re.search(r"Amount due \$?57\.00", text), text
        assert "Jane Doe" in text  # the recipient, on the mail-in address block
        for phi in ("1961", "SBX10001", "E11.9", "E119"):
            assert phi not in text, phi
