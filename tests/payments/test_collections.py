"""Collections an agency can work, and recall.

The practice's policy (docs/payments.md, "Collections"): the agency gets the minimum it needs
to collect (HIPAA minimum necessary): who owes (the guarantor's name, address and phone), whose
care it was, the dates of service, each charge and payment, the last payment date and which
insurer was billed; never a birth date, a member id or a diagnosis. Every read of the export is
audited per account. A payment (the patient's or an insurer's) or a dispute after referral
recalls the account from the agency: recorded, told by `account.recalled_from_collections`, and
listed in the next export's recalls."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    dun_to_collections,
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

TOPICS = ("account.recalled_from_collections",)
FIRST = date(2026, 1, 20)  # the first statement; the default sequence refers 150 days later
REFERRED = FIRST + timedelta(days=150)


async def export_json(client, **params) -> dict:
    resp = await client.get(
        "/v1/collections/export", params=params, headers={**ALL, "Accept": "application/json"}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def bill_a_visit(client, producer, account: str, pcn: str) -> None:
    """A 99213 + 36415 visit billed to SBX001, paid with 82.00 left to the patient."""
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
    adjustments = [("CO", "45", "30"), ("PR", "1", "40"), ("PR", "2", "17"), ("PR", "3", "25")]
    posted = await post_835(
        client, make_835(unique("TRN"), [make_clp(pcn, "1", "180", "68", "82", adjustments)])
    )
    assert posted.status_code == 201, posted.text


async def test_the_export_has_what_the_agency_needs_and_no_more_and_every_read_is_audited(
    service, producer, admin
):
    account, pcn = unique("acct"), unique("P")[:17]
    patient = make_person("Timmy", "Doe", line1="12 Elm St")
    guarantor = make_person("Jane", "Doe", phone="+15555550142", line1="12 Elm St")
    async with service("payments") as (_, client):
        # The EHR's encounter names the patient and the subscriber (his mother) who owes the bill.
        await publish_encounter(producer, account, patient, subscriber=guarantor, relationship_code="19")
        await wait_for_parties(admin, account)
        await bill_a_visit(client, producer, account, pcn)
        await client.post(
            "/v1/payments",
            json={"account_id": account, "amount": "12.00", "method": "check"},
            headers=make_headers(),
        )
        await dun_to_collections(client, account, FIRST)
        assert (await get_dunning(client, account))["status"] == "referred"

        export = await export_json(client, date_from=str(date.today()))
        (referral,) = [r for r in export["referrals"] if r["account_id"] == account]
        assert referral["balance"] == "70.00"
        assert referral["debtor"] == {
            "name": "Jane Doe",
            "address": {
                "line1": "12 Elm St",
                "line2": None,
                "city": "Springfield",
                "state": "IL",
                "postal_code": "62701",
            },
            "phone": "+15555550142",
            "relationship_to_patient": "parent",
        }
        assert referral["patient_name"] == "Timmy Doe"
        (visit,) = referral["visits"]
        assert visit["date_of_service"] == "2026-01-05"
        assert visit["insurance_billed"] == {"payer": "Sandbox Health Plan", "payer_id": "SBX001"}
        charges = [(i["description"], i["amount"]) for i in visit["items"] if i["kind"] == "charge"]
        assert [a for _, a in charges] == ["150.00", "30.00"] and "99213" in charges[0][0]
        kinds = {i["kind"]: i["amount"] for i in visit["items"] if i["kind"] != "charge"}
        assert kinds["insurance_payment"] == "-68.00" and kinds["patient_payment"] == "-12.00"
        assert referral["last_payment_date"] == str(date.today())
        assert referral["dates_of_service"] == ["2026-01-05"]

        text = (await client.get("/v1/collections/export", headers=ALL)).text
        rows = list(csv.DictReader(io.StringIO(text.split("\n\n")[0])))
        (row,) = [r for r in rows if r["account_id"] == account]
        assert (row["debtor_name"], row["debtor_phone"], row["patient_name"]) == (
            "Jane Doe",
            "+15555550142",
            "Timmy Doe",
        )
        assert (row["dates_of_service"], row["insurance_billed"]) == ("2026-01-05", "Sandbox Health Plan")
        assert row["last_payment_date"] == str(date.today()) and row["balance"] == "70.00"
        for phi in ("1961", "SBX10001", "E11.9", "E119"):  # birth date, member id, diagnosis
            assert phi not in text and phi not in str(export), phi

        audit = (await client.get("/v1/audit", params={"patient_id": account}, headers=ALL)).json()
        reads = [a for a in audit if a["resource_type"] == "collections_export" and a["action"] == "read"]
        assert len(reads) == 2 and all(a["outcome"] == "success" for a in reads)


async def test_a_payment_or_a_dispute_after_referral_recalls_the_account(service, producer, servers):
    paying, insured, disputing = unique("acct"), unique("acct"), unique("acct")
    start = await kafka_offsets(servers, TOPICS)
    async with service("payments") as (_, client):
        for account in (paying, disputing):
            await client.post(
                f"/v1/accounts/{account}/charges",
                json={"amount": "90.00", "description": "Office visit", "service_date": "2026-01-05"},
                headers=make_headers(),
            )
        pcn = unique("P")[:17]
        await bill_a_visit(client, producer, insured, pcn)
        for account in (paying, insured, disputing):
            await dun_to_collections(client, account, FIRST)
            assert (await get_dunning(client, account))["status"] == "referred"

        # The patient pays; the secondary payer pays part of the patient's share; the third disputes.
        paid = await client.post(
            "/v1/payments",
            json={"account_id": paying, "amount": "20.00", "method": "card"},
            headers=make_headers(),
        )
        assert paid.status_code == 201
        await submit_claim(
            producer, pcn=pcn, account=insured, payer="SBX002", charge="180.00", coverage_order="secondary"
        )
        secondary = make_835(
            unique("TRN"),
            [make_clp(pcn, "2", "180", "30", "52", [("OA", "23", "98"), ("PR", "1", "52")])],
            payer_ref="SBX002",
        )

        # Posted at once, or when the secondary claim's copy arrives (a late match): the same path.
        assert (await post_835(client, secondary)).status_code == 201
        disputed = await client.post(
            f"/v1/accounts/{disputing}/disputes",
            json={"reason": "The patient says this visit was covered by workers' compensation."},
            headers=make_headers(),
        )
        assert disputed.status_code == 201, disputed.text

        events = {
            a: (await read_events(servers, start, "account.recalled_from_collections", a, 1))[0]
            for a in (paying, insured, disputing)
        }
        assert [events[a]["reason"] for a in (paying, insured, disputing)] == [
            "patient_payment",
            "insurance_payment",
            "dispute",
        ]
        assert events[paying]["amount"] == "20.00" and events[paying]["balance"] == "70.00"
        for account in (paying, insured, disputing):
            assert (await get_dunning(client, account))["status"] == "recalled"

        export = await export_json(client, date_from=str(date.today()))
        recalls = {r["account_id"]: r for r in export["recalls"]}
        assert {paying, insured, disputing} <= set(recalls)
        assert recalls[disputing]["reason"] == "dispute" and recalls[paying]["referred_at"].startswith(
            str(date.today())
        )
        text = (await client.get("/v1/collections/export", headers=ALL)).text
        recall_section = text.split("\n\n")[1]
        assert recall_section.startswith("recalled_account_id,") and paying in recall_section

        # A dispute also pauses dunning before referral: the next cycles take no step.
        paused = unique("acct")
        await client.post(
            f"/v1/accounts/{paused}/charges",
            json={"amount": "40.00", "description": "Office visit", "service_date": "2026-01-05"},
            headers=make_headers(),
        )
        await post_statement_run(client, paused, str(FIRST))
        await client.post(
            f"/v1/accounts/{paused}/disputes", json={"reason": "Billed twice"}, headers=make_headers()
        )
        for days in (30, 60, 90):
            await post_cycle(client, str(FIRST + timedelta(days=days)))
        history = await get_dunning(client, paused)
        assert history["status"] == "paused" and [s["step"] for s in history["steps"]] == [1]
