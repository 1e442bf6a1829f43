"""The revenue cycle end to end, on the platform `make up` runs (issue 8, stories 1-5).

Everything goes through the contracts a clinic and its partners use: REST on the five
services, `encounter.completed` from the EHR on Kafka, the payer sandbox (270/271 over HTTP; a
clearinghouse whose SFTP mailbox the gateway uploads 837P files to and takes 999, 277CA and 835
files from), and the SMTP sink that stands in for patients' and staff's mailboxes. Expected
payer behaviour is read from the sandbox's scenario table.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from deploy import mailbox as make_up_mailbox
from deploy.payer_sandbox.ehr import BILLING_NPI, SOURCE as EHR_SOURCE
from services.claims.reference import store as reference
from shared import x12
from shared.events.catalogue import Adjustment
from tests.claims.cob import x12_837_errors
from tests.e2e.platform import (
    AUTH,
    SCENARIOS,
    URLS,
    Watch,
    claim_in,
    claims_of,
    encounter,
    eventually,
    generated_member,
    get_json,
    inbox,
    mail_to,
    publish,
    register_patient,
    unique,
)

pytestmark = pytest.mark.usefixtures("platform")
DONE = ("paid", "partial", "denied")


def money(value: str | None) -> Decimal:
    return Decimal(value or "0")


async def test_story1_checked_estimated_billed_paid_and_the_patient_told(
    http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    member = generated_member()
    visit = encounter(member, [("99213", "150.00")])
    patient = visit.patient_id
    contact = await register_patient(http, patient)
    sub = SCENARIOS["SBX10001"]["subscriber"]

    # Before the visit: coverage (270/271 with the sandbox) and an estimate from its benefits.
    check = await http.post(
        f"{URLS['eligibility']}/v1/eligibility/checks",
        headers=AUTH,
        json={
            "patient_id": patient,
            "patient": {k: sub[k] for k in ("first_name", "last_name", "birth_date")},
            "member_id": member,
            "payer_id": "SBX001",
            "provider_npi": BILLING_NPI,
            "service_type_codes": ["30", "98"],
            "date_of_service": visit.date_of_service.isoformat(),
        },
    )
    assert check.status_code in (200, 201), check.text
    check = check.json()
    assert (check["state"], check["status"]) == ("done", SCENARIOS["SBX10001"]["expected"]["outcome"])
    copay = SCENARIOS["SBX10001"]["benefits"]["in_network"]["copays"]["98"]
    estimate = await http.post(
        f"{URLS['eligibility']}/v1/estimates",
        headers=AUTH,
        json={
            "check_id": check["id"],
            "service_type_code": "98",
            "lines": [{"code": "99213", "units": 1, "charge": "150.00"}],
        },
    )
    assert estimate.status_code == 200, estimate.text
    estimated_patient = money(estimate.json()["patient_responsibility"])
    # Office visits are copay-only on this plan (the 271's own office-visit rows: deductible 0,
    # coinsurance 0), so the estimate is the copay, as the payer will adjudicate it.
    assert estimated_patient == Decimal(copay)

    # The visit happens; the EHR sends the encounter.
    async with Watch(
        [
            "claim.submitted",
            "claim.acknowledged",
            "remittance.received",
            "payment.posted",
            "notification.sent",
        ]
    ) as kafka:
        sent = await publish(producer, visit)
        claim = await claim_in(http, DONE, encounter_id=visit.encounter_id)
        assert claim["status"] == "paid", claim
        full = await get_json(http, "claims", f"/v1/claims/{claim['id']}")
        path = [h["to_status"] for h in full["history"]]
        assert path[-1] == "paid" and "submitted" in path, path
        assert {"draft", "ready"} & set(path), path  # created and scrubbed before it went out

        (submitted,) = await kafka.events("claim.submitted", lambda e: str(e.data.claim_id) == claim["id"])
        pcn = submitted.data.patient_control_number
        assert pcn == claim["patient_control_number"]
        (ack,) = await kafka.events("claim.acknowledged", lambda e: e.data.patient_control_number == pcn)
        assert ack.data.payer_claim_control_number == claim["payer_claim_control_number"]
        (remit,) = await kafka.events("remittance.received", lambda e: f"CLP*{pcn}*" in e.data.x12_835)
        (posted,) = await kafka.events(
            "payment.posted", lambda e: e.data.source == "insurer" and str(e.data.claim_id) == claim["id"]
        )
        assert posted.data.trace_number == remit.data.trace_number
        assert (posted.data.amount, posted.data.patient_responsibility) == (
            money(claim["paid_amount"]),
            money(claim["patient_responsibility"]),
        )
        # One correlation id from the encounter to the claim's submission; the posting carries
        # its 835's (one file answers many claims, so the gateway starts a correlation per file).
        correlation = sent.correlation_id or submitted.correlation_id
        assert correlation and submitted.correlation_id == correlation
        assert remit.correlation_id and posted.correlation_id == remit.correlation_id

        # The patient's share lands on their account, as estimated.
        account = await get_json(http, "payments", f"/v1/accounts/{patient}")
        assert money(account["patient_due"]) == money(claim["patient_responsibility"]) == estimated_patient
        assert money(account["insurance_pending"]) == 0

        # The patient is told: in-app and by email, caused by that payment.posted.
        note = await kafka.events(
            "notification.sent",
            lambda e: e.data.recipient_id == patient and e.data.cause_event_id == posted.id,
            count=3,  # in-app, email and SMS
        )
        assert {n.data.channel for n in note} == {"inbox", "email", "sms"}
        (message,) = await mail_to(http, contact["email"], lambda m: "insurance" in m["subject"].lower())
        assert f"${money(claim['paid_amount']):.2f}" in message["text"]
        assert sub["last_name"] not in message["text"] and member not in message["text"]

        # The patient pays their share and gets a receipt.
        paid = await http.post(
            f"{URLS['payments']}/v1/payments",
            headers={**AUTH, "Idempotency-Key": unique("pay")},
            json={"account_id": patient, "amount": account["patient_due"], "method": "card"},
        )
        assert paid.status_code == 201, paid.text
        receipt = paid.json()
        account = await get_json(http, "payments", f"/v1/accounts/{patient}")
        assert money(account["balance"]) == 0
        (email,) = await mail_to(http, contact["email"], lambda m: receipt["receipt_number"] in m["text"])
        assert f"${Decimal(copay):.2f}" in email["text"]
        templates = {n["template"] for n in await inbox(http, patient)}
        assert {"insurance_processed", "payment_receipt"} <= templates


async def test_story2_prior_auth_denial_worked_corrected_and_paid(
    http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    needs_auth = SCENARIOS["SBX30001"]["prior_auth_codes"]
    assert "97110" in needs_auth
    staff_email = f"{unique('billing')}@practice.example"
    staff = await http.put(
        f"{URLS['notifications']}/v1/recipients/e2e-billing-staff",
        headers=AUTH,
        json={"kind": "staff", "email": staff_email, "roles": ["billing"]},
    )
    assert staff.status_code in (200, 201), staff.text
    # A modifier that changes nothing here, varied so runs on one platform bill different claims.
    visit = encounter("SBX30001", [("97110", "120.00", random.choice([[], ["KX"], ["76"], ["XU"]]))])

    async with Watch(["claim.denied", "authorization.recorded", "payment.posted"]) as kafka:
        await publish(producer, visit)
        claim = await claim_in(http, DONE, encounter_id=visit.encounter_id)
        assert claim["status"] == "denied", claim

        # In the work queue with its action, and on Kafka.
        (denial,) = (await get_json(http, "claims", "/v1/denials", claim_id=claim["id"]))["items"]
        # The sandbox's 835 says CO-197 with LQ*HE*M62 (the authorization number is missing
        # from the claim): payments carries the line's remark, and the action table
        # (data/denial_actions.csv) says add the number and resubmit.
        assert "M62" in denial["remark_codes"]
        advice = reference.denial_rules().recommend(
            [Adjustment(**a) for a in denial["adjustments"]], denial["remark_codes"]
        )
        assert (denial["reason_code"], denial["action"]) == ("197", advice.action)
        assert advice.action == "correct_and_resubmit" and denial["why"] == advice.why
        (denied,) = await kafka.events("claim.denied", lambda e: str(e.data.claim_id) == claim["id"])
        assert denied.data.action == denial["action"]
        assert ("CO", "197") in {(a.group_code, a.reason_code) for a in denied.data.adjustments}

        # Billing staff are told, with the recommended action and no PHI.
        (mail,) = await mail_to(http, staff_email, lambda m: claim["id"][:8] in m["subject"] + m["text"])
        assert "correct and resubmit" in mail["text"].lower()
        assert visit.patient.last_name not in mail["text"] and "SBX30001" not in mail["text"]

        # The authorization is recorded, a corrected claim goes out and is paid.
        number = unique("PA").upper()
        auth = await http.post(
            f"{URLS['eligibility']}/v1/authorizations",
            headers=AUTH,
            json={
                "patient_id": visit.patient_id,
                "payer_id": "SBX001",
                "number": number,
                "service_codes": ["97110"],
                "start_date": (visit.date_of_service - timedelta(days=7)).isoformat(),
                "end_date": (visit.date_of_service + timedelta(days=60)).isoformat(),
                "visits_allowed": 10,
            },
        )
        assert auth.status_code == 201, auth.text
        await kafka.events("authorization.recorded", lambda e: e.data.number == number)
        corrected = await http.post(
            f"{URLS['claims']}/v1/claims/{claim['id']}/corrections",
            headers=AUTH,
            json={"prior_authorization_number": number},
        )
        assert corrected.status_code == 201, corrected.text
        new = corrected.json()
        assert (new["frequency_code"], new["original_claim_id"]) == ("7", claim["id"])
        edi = (await http.get(f"{URLS['claims']}/v1/claims/{new['id']}/837", headers=AUTH)).text
        segments = [[s.id, *s.elements] for s in x12.parse(edi).transactions[0].segments]
        assert ["REF", "G1", number] in segments
        paid = await claim_in(http, DONE, patient_id=visit.patient_id, status="paid")
        assert paid["id"] == new["id"]
        (posted,) = await kafka.events(
            "payment.posted", lambda e: str(e.data.claim_id) == new["id"] and e.data.claim_status_code == "1"
        )
        # Authorized now: the payer allowed the service (here it all went to the deductible).
        reasons = {(a.group_code, a.reason_code) for a in posted.data.adjustments}
        assert ("CO", "197") not in reasons
        assert posted.data.allowed and posted.data.allowed > 0
        assert posted.data.amount + posted.data.patient_responsibility == posted.data.allowed
        assert (await get_json(http, "claims", "/v1/denials", claim_id=claim["id"]))["items"] == []


async def test_story3_primary_pays_part_and_the_secondary_goes_out_with_cob(
    http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    (cob,) = [p for p in SCENARIOS["SBX40002"]["other_payers"] if p.get("order", "secondary") == "secondary"]
    extras = [
        (code, charge) for code, charge in (("36415", "15.00"), ("85025", "40.00")) if random.random() < 0.5
    ]
    visit = encounter(
        "SBX40002", [("99214", "220.00"), *extras], secondary=(cob["payer_id"], cob["member_id"])
    )
    async with Watch(["claim.submitted", "payment.posted"]) as kafka:
        await publish(producer, visit)
        primary = await claim_in(http, DONE, encounter_id=visit.encounter_id, coverage_order="primary")
        assert primary["status"] in ("paid", "partial") and money(primary["patient_responsibility"]) > 0

        async def secondary_paid() -> dict | None:
            items = [
                c for c in await claims_of(http, patient_id=visit.patient_id) if c["id"] != primary["id"]
            ]
            return items[0] if len(items) == 1 and items[0]["status"] in DONE else None

        secondary = await eventually(secondary_paid, what="the secondary claim adjudicated")
        assert (secondary["payer_id"], secondary["coverage_order"], secondary["primary_claim_id"]) == (
            cob["payer_id"],
            "secondary",
            primary["id"],
        )
        assert secondary["status"] == "paid", secondary

        (sent,) = await kafka.events("claim.submitted", lambda e: str(e.data.claim_id) == secondary["id"])
        assert sent.data.coverage_order == "secondary"
        segments = [[s.id, *s.elements] for s in x12.parse(sent.data.x12_837).transactions[0].segments]
        ids = [s[0] for s in segments]
        assert ["SBR", "S"] == segments[ids.index("SBR")][:2]  # this payer is secondary
        assert any(s[:2] == ["NM1", "IL"] and cob["member_id"] in s for s in segments)  # its member
        assert any(s[:2] == ["SBR", "P"] for s in segments)  # loop 2320: the primary as the other payer
        amt_d = [s for s in segments if s[:2] == ["AMT", "D"]]  # the primary's payment (loop 2320)
        assert [Decimal(s[2]) for s in amt_d] == [money(primary["paid_amount"])]
        # The guide's COB balancing. (pyx12 on an EHR-built claim waits for the provider registry,
        # issue 14 item 2: 2010AA N3/N4/REF are missing until then.)
        assert x12_837_errors(sent.data.x12_837) == []
        # Loop 2430 restates the primary's 835 line by line (SVC03 as SVD02), in the claim's order.
        of_primary = lambda e: str(e.data.claim_id) == primary["id"]  # noqa: E731
        (primary_posted,) = await kafka.events("payment.posted", of_primary)
        svd = [Decimal(s[2]) for s in segments if s[0] == "SVD"]
        assert svd == [line.paid for line in primary_posted.data.lines] and len(svd) == 1 + len(extras)

        (posted,) = await kafka.events("payment.posted", lambda e: str(e.data.claim_id) == secondary["id"])
        assert posted.data.claim_status_code == "2"  # processed as secondary
        account = await get_json(http, "payments", f"/v1/accounts/{visit.patient_id}")
        assert money(account["patient_due"]) == money(primary["patient_responsibility"]) - posted.data.amount


async def test_story4_payment_plan_missed_installments_collections_each_step_notified(
    http: httpx.AsyncClient,
) -> None:
    patient = unique("e2e-selfpay")
    contact = await register_patient(http, patient)
    charge = await http.post(
        f"{URLS['payments']}/v1/accounts/{patient}/charges",
        headers={**AUTH, "Idempotency-Key": unique("chg")},
        json={"amount": "300.00", "description": "Self-pay visit", "service_date": date.today().isoformat()},
    )
    assert charge.status_code == 201, charge.text
    first_due = date.today() + timedelta(days=10)
    plan = await http.post(
        f"{URLS['payments']}/v1/payment-plans",
        headers=AUTH,
        json={
            "account_id": patient,
            "amount": "300.00",
            "installments": 3,
            "frequency": "monthly",
            "first_due_date": first_due.isoformat(),
        },
    )
    assert plan.status_code == 201, plan.text
    plan = plan.json()
    dues = [date.fromisoformat(i["due_date"]) for i in plan["installments"]]

    async with Watch(
        ["payment_plan.installment_due", "payment.late", "account.sent_to_collections"]
    ) as kafka:
        referred: list[str] = []
        for due in dues:  # the clock moves through the plan: a reminder, then the installment is missed
            for as_of in (due - timedelta(days=3), due + timedelta(days=5)):
                cycle = await http.post(
                    f"{URLS['payments']}/v1/payment-plans/run-cycle",
                    params={"as_of": as_of.isoformat()},
                    headers=AUTH,
                )
                assert cycle.status_code == 200, cycle.text
                referred += cycle.json()["sent_to_collections"]
        # The third missed installment breaks the plan: the final notice, and collections only after
        # the dunning sequence's waiting period (services/payments/settings.py, 30 days).
        assert referred.count(patient) == 0
        cycle = await http.post(
            f"{URLS['payments']}/v1/payment-plans/run-cycle",
            params={"as_of": (dues[-1] + timedelta(days=35)).isoformat()},
            headers=AUTH,
        )
        assert cycle.status_code == 200, cycle.text
        assert cycle.json()["sent_to_collections"].count(patient) == 1
        state = await get_json(http, "payments", f"/v1/payment-plans/{plan['id']}")
        assert state["status"] == "collections"

        mine = lambda e: e.data.account_id == patient  # noqa: E731
        due_events = await kafka.events("payment_plan.installment_due", mine, count=3)
        assert sorted(e.data.installment_number for e in due_events) == [1, 2, 3]
        late = await kafka.events("payment.late", mine, count=3)
        assert sorted((e.data.installment_number, e.data.days_late) for e in late) == [(1, 5), (2, 5), (3, 5)]
        (collections,) = await kafka.events("account.sent_to_collections", mine)
        assert collections.data.balance == Decimal("300.00")

    # Each cycle told the patient once, in one message: three reminders, two late notices, the third
    # late notice with the final notice, the referral.
    expected = {"account_notice": 7}

    async def all_in_inbox() -> dict[str, int] | None:
        counts: dict[str, int] = {}
        for note in await inbox(http, patient):
            counts[note["template"]] = counts.get(note["template"], 0) + 1
        return counts if counts == expected else None

    await eventually(all_in_inbox, what="reminders, late notices and the collections notice in the inbox")
    emails = await mail_to(http, contact["email"], lambda m: True, count=7)
    assert len(emails) == 7
    (notice,) = [m for m in emails if "was referred to" in m["text"]]
    assert "$300.00" in notice["text"] and "Collections" in notice["text"]


async def test_story5_partner_garbage_is_parked_or_refused_and_the_rest_flows(
    http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    async with Watch(["encounter.completed.dlq"]) as kafka:
        # A malformed encounter.completed: a valid envelope around a payload that breaks the schema.
        bad_id = str(uuid.uuid4())
        headers = [
            ("ce_id", bad_id.encode()),
            ("ce_type", b"encounter.completed.v1"),
            ("ce_source", EHR_SOURCE.encode()),
            ("ce_specversion", b"1.0"),
            ("content-type", b"application/json"),
        ]
        garbage = json.dumps({"encounter_id": unique("e2e-bad"), "patient_id": "x", "lines": "none"})
        await producer.send_and_wait("encounter.completed", garbage.encode(), key=b"bad", headers=headers)
        # And a record that is not even JSON.
        not_json_id = str(uuid.uuid4())
        await producer.send_and_wait(
            "encounter.completed",
            b"\x00\xffnot json",
            key=b"bad",
            headers=[(k, not_json_id.encode() if k == "ce_id" else v) for k, v in headers],
        )
        # A broken 835 dropped by hand into the clearinghouse's from/ folder (no partner can
        # write remittance.received any more): the gateway takes it and puts it in its review
        # queue with the reason, keeping the file ...
        outbox = make_up_mailbox.SANDBOX_STATE / "mailboxes" / make_up_mailbox.USER / "from"
        bad_name = f"{unique('E2E')}_835.x12"
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f".{bad_name}.tmp").write_text("ISA*00*" + "x" * 200 + "~")
        os.replace(outbox / f".{bad_name}.tmp", outbox / bad_name)
        # ... and uploaded over HTTP to payments: refused with the location, nothing posted.
        upload = await http.post(
            f"{URLS['payments']}/v1/remittances",
            content="ISA*00*          *00*          *ZZ*SBX001~GS*HP~ST*835*0001~BPR*I*10~SE*3*0001~",
            headers={**AUTH, "Content-Type": "application/edi-x12"},
        )
        assert upload.status_code == 422, upload.text
        problem = upload.json()
        assert upload.headers["content-type"].startswith("application/problem+json")
        assert problem["errors"] and problem["errors"][0]["field"]

        # A good encounter right after the garbage still becomes a paid claim.
        good = encounter(generated_member(), [("99213", "150.00")])
        await publish(producer, good)

        def parked(event_id: str, group: str):
            def match(record) -> bool:
                h = {k: v.decode(errors="replace") for k, v in record.headers or ()}
                return h.get("ce_id") == event_id and h.get("dlq_consumer_group", "").endswith(group)

            return match

        for event_id in (bad_id, not_json_id):
            (record,) = await kafka.raw("encounter.completed.dlq", parked(event_id, "claims"))
            h = {k: v.decode() for k, v in record.headers}
            assert h["dlq_original_topic"] == "encounter.completed" and h["dlq_error"]

        async def reviewed() -> dict | None:
            page = await get_json(http, "gateway", "/v1/review")
            return next((i for i in page["items"] if i["remote_name"] == bad_name), None)

        item = await eventually(reviewed, what="the broken 835 in the gateway's review queue")
        assert item["reason"] == "unreadable" and item["detail"] and item["resolution"] is None
        kept = await get_json(http, "gateway", f"/v1/files/{item['file_id']}")
        assert kept["state"] == "review" and kept["errors"]

        claim = await claim_in(http, DONE, encounter_id=good.encounter_id)
        assert claim["status"] == "paid"
        for service in ("claims", "payments", "notifications"):
            health = await http.get(f"{URLS[service]}/health/ready")
            assert health.status_code == 200, (service, health.text)
