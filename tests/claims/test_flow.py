"""Claims driven by events on the real broker: encounters become claims, answers move them,
denials are queued and appealed, corrections and voids go out, secondaries are billed,
follow-ups fire, and the reports count it all."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from services.claims.followups import workers as followups
from shared import x12
from shared.events import new_event
from shared.events.catalogue import (
    AdjudicatedLine,
    Adjustment,
    AuthorizationRecorded,
    ClaimAcknowledged,
    ClaimRejected,
    Coverage,
    DenialResolved,
    EligibilityChecked,
    EncounterCompleted,
    EncounterLine,
    OtherPayer,
    PaymentPosted,
    Person,
    RejectionReason,
)
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import (
    BILLING_NPI,
    RENDERING_NPI,
    TEST_EHR_SOURCE,
    get_claim,
    get_claim_if,
    get_claims,
    make_claim,
    make_eligibility,
    make_recent_date,
    post_submitted_claim,
    publish,
    read_event,
)
from tests.conftest import connect_as, encode_signed, end_offsets, eventually, token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "practice_providers")
RW = token("claims:read", "claims:write")


def make_payment(
    claim: dict[str, Any],
    *,
    paid: str,
    adjustments: list[tuple[str, str, str]],
    status_code: str = "1",
    patient_resp: str = "0.00",
    ccn: str | None = None,
    remarks: list[str] | None = None,
    lines: list[tuple[str, str, str, str, list[tuple[str, str, str]]]] | None = None,
) -> PaymentPosted:
    """An insurer's payment.posted; `lines` (code, modifier, charge, paid, CAS) are the 835's
    SVC lines, and then `adjustments` are their totals (no claim-level CAS)."""
    detail: dict[str, Any] = {}
    if lines is not None:
        detail["claim_adjustments"] = []
        detail["lines"] = [
            AdjudicatedLine(
                line_item_control_number=str(n),
                code=code,
                modifiers=[modifier] if modifier else [],
                charge=Decimal(charge),
                paid=Decimal(line_paid),
                adjustments=[Adjustment(group_code=g, reason_code=r, amount=Decimal(a)) for g, r, a in cas],
            )
            for n, (code, modifier, charge, line_paid, cas) in enumerate(lines, start=1)
        ]
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="insurer",
        claim_id=uuid.UUID(claim["id"]),
        account_id=claim["patient_id"],
        amount=Decimal(paid),
        method="eft",
        posted_at=datetime.now(UTC),
        payer_id=claim["payer_id"],
        patient_control_number=claim["patient_control_number"],
        payer_claim_control_number=ccn or f"ICN{uuid.uuid4().hex[:10].upper()}",
        claim_status_code=status_code,
        charge=Decimal(claim["total_charge"]),
        patient_responsibility=Decimal(patient_resp),
        adjustments=[Adjustment(group_code=g, reason_code=r, amount=Decimal(a)) for g, r, a in adjustments],
        remark_codes=remarks or [],
        trace_number=unique("trn"),
        **detail,
    )


async def test_encounter_becomes_a_claim_that_is_denied_queued_and_appealed(
    claims, settings, servers, producer
):
    patient, encounter = unique("pat"), unique("enc")
    dos = date.fromisoformat(make_recent_date())
    denied_start = await end_offsets(servers.kafka_bootstrap, "claim.denied")
    async with claims() as (_, client):
        await publish(
            producer,
            EligibilityChecked(
                check_id=uuid.uuid4(),
                patient_id=patient,
                payer_id="SBX001",
                status="active",
                date_of_service=dos,
                coverage_start=date(2020, 1, 1),
                coverage_end=date(2099, 12, 31),
                checked_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: _has_eligibility(settings, patient))
        visit = EncounterCompleted(
            encounter_id=encounter,
            patient_id=patient,
            payer_id="SBX001",
            billing_provider_npi=BILLING_NPI,
            rendering_provider_npi=RENDERING_NPI,
            date_of_service=dos,
            place_of_service="11",
            diagnoses=["E11.9", "I10"],
            lines=[
                EncounterLine(
                    code="99213", modifiers=["25"], charge=Decimal("125.00"), diagnosis_pointers=[1, 2]
                ),
                EncounterLine(code="36415", charge=Decimal("20.00"), diagnosis_pointers=[1]),
            ],
            patient=Person(
                first_name="Ann",
                last_name="Lee",
                birth_date=date(1970, 3, 4),
                gender="F",
                address={"line1": "9 Elm St", "city": "Salem", "state": "OR", "postal_code": "97301"},
            ),
            coverages=[Coverage(payer_id="SBX001", member_id="SBX10001", order="primary")],
        )
        # The same visit from an EHR this practice does not take claims from is ignored.
        foreign = unique("enc")
        topic, key, value, headers = encode_signed(
            new_event(visit.model_copy(update={"encounter_id": foreign}), source="/partners/another-ehr")
        )
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        await publish(producer, visit)
        (claim,) = await eventually(lambda: get_claims(client, encounter_id=encounter), timeout=30)
        claim = await eventually(
            lambda: get_claim_if(client, claim["id"], "submitted")
        )  # policy: clean → auto-submit
        assert [h["actor"].split(":")[1] for h in claim["history"]] == ["encounter.completed.v1"] * 3
        assert claim["scrub"]["clean"] is True
        sent_837 = (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).text
        assert x12_837_errors(sent_837) == []  # the registry's providers: 2010AA N3, N4, REF

        await publish(
            producer,
            ClaimAcknowledged(
                patient_control_number=claim["patient_control_number"],
                payer_claim_control_number="ICN-ACK-1",
                acknowledged_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "accepted"))

        await publish(
            producer,
            make_payment(
                claim,
                paid="0.00",
                status_code="4",
                ccn="ICN-ACK-1",
                adjustments=[("CO", "197", "145.00")],
                remarks=["N54"],
            ),
        )
        denied = await eventually(lambda: get_claim_if(client, claim["id"], "denied"))
        assert denied["payer_claim_control_number"] == "ICN-ACK-1"

        queue = (
            await client.get("/v1/denials", params={"payer_id": "SBX001", "reason": "197"}, headers=RW)
        ).json()["items"]
        (denial,) = [d for d in queue if d["claim_id"] == claim["id"]]
        assert (denial["action"], denial["denied_amount"], denial["status"]) == ("appeal", "145.00", "open")
        assert denial["age_days"] == 0
        assert [
            d
            for d in (await client.get("/v1/denials", params={"min_age_days": 1}, headers=RW)).json()["items"]
            if d["claim_id"] == claim["id"]
        ] == []
        assigned = await client.post(
            f"/v1/denials/{denial['id']}/assign", json={"assignee": "carol"}, headers=RW
        )
        assert assigned.json()["status"] == "assigned"
        mine = (
            await client.get("/v1/denials", params={"assignee": "carol", "status": "assigned"}, headers=RW)
        ).json()["items"]
        assert denial["id"] in [d["id"] for d in mine]

        event = await read_event(servers.kafka_bootstrap, "claim.denied", denied_start, claim["id"])
        assert event["action"] == "appeal" and event["remark_codes"] == ["N54"]
        assert event["adjustments"] == [{"group_code": "CO", "reason_code": "197", "amount": "145.00"}]

        appeal = await client.post(
            f"/v1/claims/{claim['id']}/appeals",
            json={
                "facts": ["Authorization AUTH-55 was obtained by phone on the date of service."],
                "signer": "Dana Billing",
            },
            headers=RW,
        )
        assert appeal.status_code == 201, appeal.text
        letter = appeal.json()["letter"]
        for cited in (
            claim["patient_control_number"],
            "ICN-ACK-1",
            "CO-197",
            "Precertification",
            "N54",
            "AUTH-55",
            "99213-25",
            "$145.00",
            "Dana Billing",
            BILLING_NPI,
        ):
            assert cited in letter, cited
        # What the payer files the claim by (the letter's recipient is the payer: PHI for it).
        for cited in ("Lee, Ann", "1970-03-04", "SBX10001", "N54: Claim information is inconsistent"):
            assert cited in letter, cited
        assert "Authorization." in letter and "medically necessary" not in letter  # CO-197's argument
        assert (await get_claim(client, claim["id"]))["status"] == "appealed"
        won = await client.post(
            f"/v1/claims/{claim['id']}/appeals/{appeal.json()['id']}/outcome",
            json={"outcome": "won", "note": "reprocessing"},
            headers=RW,
        )
        assert won.json()["status"] == "won"
        await publish(
            producer, make_payment(claim, paid="110.00", ccn="ICN-ACK-1", adjustments=[("CO", "45", "35.00")])
        )
        paid = await eventually(lambda: get_claim_if(client, claim["id"], "paid"))
        assert [h["to_status"] for h in paid["history"]] == [
            "draft",
            "ready",
            "submitted",
            "accepted",
            "denied",
            "appealed",
            "paid",
        ]
        assert await get_claims(client, encounter_id=foreign) == []
        listed = (await client.get(f"/v1/claims/{claim['id']}/appeals", headers=RW)).json()["items"]
        assert [a["status"] for a in listed] == ["won"]


async def _has_eligibility(settings, patient: str) -> bool:
    conn = await connect_as("claims", settings)
    try:
        return bool(
            await conn.fetchval("SELECT count(*) FROM eligibility_copies WHERE patient_id = $1", patient)
        )
    finally:
        await conn.close()


async def test_rejected_claim_is_fixed_and_resubmitted(claims, settings, producer):
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        await publish(
            producer,
            ClaimRejected(
                claim_id=uuid.UUID(claim["id"]),
                patient_control_number=claim["patient_control_number"],
                reasons=[RejectionReason(code="A7:562", message="Entity's NPI")],
                rejected_at=datetime.now(UTC),
            ),
        )
        rejected = await eventually(lambda: get_claim_if(client, claim["id"], "rejected"))
        assert "A7:562" in rejected["history"][-1]["reason"]
        fixed = await client.patch(
            f"/v1/claims/{claim['id']}", json={"prior_authorization_number": "X1"}, headers=RW
        )
        assert fixed.status_code == 200
        again = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert again.status_code == 200
        assert [h["to_status"] for h in again.json()["history"]] == [
            "draft",
            "ready",
            "submitted",
            "rejected",
            "draft",
            "ready",
            "submitted",
        ]


async def test_correction_goes_out_as_frequency_7_with_the_original_number_and_void_as_8(
    claims, settings, producer
):
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        no_number = await client.post(f"/v1/claims/{claim['id']}/corrections", json={}, headers=RW)
        assert no_number.status_code == 409
        await publish(
            producer,
            make_payment(
                claim,
                paid="80.00",
                ccn="ICN-ORIG-7",
                adjustments=[("CO", "45", "45.00"), ("CO", "16", "50.00")],
                remarks=["MA130"],
            ),
        )
        partial = await eventually(lambda: get_claim_if(client, claim["id"], "partial"))
        (denial,) = (await client.get("/v1/denials", params={"claim_id": claim["id"]}, headers=RW)).json()[
            "items"
        ]
        assert (denial["reason_code"], denial["action"]) == ("16", "correct_and_resubmit")
        assert partial["paid_amount"] == "80.00"

        corrected = await client.post(
            f"/v1/claims/{claim['id']}/corrections", json={"diagnoses": ["E11.9", "I10", "Z79.4"]}, headers=RW
        )
        assert corrected.status_code == 201, corrected.text
        new = corrected.json()
        assert (new["frequency_code"], new["status"], new["original_claim_id"]) == (
            "7",
            "submitted",
            claim["id"],
        )
        assert new["data"]["original_payer_claim_control_number"] == "ICN-ORIG-7"
        edi = (await client.get(f"/v1/claims/{new['id']}/837", headers=RW)).text
        clm = next(s for s in x12.parse(edi).transactions[0].segments if s.id == "CLM")
        assert clm.get(5) == "11:B:7"
        assert ["REF", "F8", "ICN-ORIG-7"] in [
            [s.id, *s.elements] for s in x12.parse(edi).transactions[0].segments
        ]
        original = await get_claim(client, claim["id"])
        assert (
            original["status"] == "closed"
            and new["patient_control_number"] in original["history"][-1]["reason"]
        )
        # Sending the correction worked the denial off the queue.
        (worked,) = (
            await client.get(
                "/v1/denials", params={"claim_id": claim["id"], "status": "resolved"}, headers=RW
            )
        ).json()["items"]
        assert worked["resolution"] == f"corrected: {new['patient_control_number']}"

        await publish(
            producer,
            ClaimAcknowledged(
                claim_id=uuid.UUID(new["id"]),
                patient_control_number=new["patient_control_number"],
                payer_claim_control_number="ICN-REPL-8",
                acknowledged_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: get_claim_if(client, new["id"], "accepted"))
        voided = await client.post(f"/v1/claims/{new['id']}/void", headers=RW)
        assert voided.status_code == 201, voided.text
        void = voided.json()
        assert (void["frequency_code"], void["data"]["original_payer_claim_control_number"]) == (
            "8",
            "ICN-REPL-8",
        )
        edi = (await client.get(f"/v1/claims/{void['id']}/837", headers=RW)).text
        assert (
            "CLM*" + void["patient_control_number"] in edi and ":B:8*" in edi and "REF*F8*ICN-REPL-8~" in edi
        )
        assert (await client.post(f"/v1/claims/{void['id']}/void", headers=RW)).status_code == 409


async def test_primary_balance_bills_the_secondary_with_cob_automatically(
    claims, settings, servers, producer
):
    start = await end_offsets(servers.kafka_bootstrap, "claim.submitted")
    async with claims() as (_, client):
        body = make_claim(unique("pat"))
        body["subscriber"]["member_id"] = "SBX40002"
        body["other_coverages"] = [{"payer_id": "SBX002", "member_id": "SBX40002S", "order": "secondary"}]
        claim = await post_submitted_claim(client, settings, body)
        # The primary's 835 adjudicated each line (SVC/CAS): the 2430 loops restate exactly that.
        lines = [
            ("99213", "25", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "2", "20.00")]),
            ("93000", "59", "50.00", "20.00", [("CO", "45", "20.00"), ("PR", "2", "10.00")]),
        ]
        await publish(
            producer,
            make_payment(
                claim,
                paid="100.00",
                patient_resp="30.00",
                ccn="ICN-P-1",
                adjustments=[("CO", "45", "45.00"), ("PR", "2", "30.00")],
                lines=lines,
            ),
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "paid"))
        (secondary,) = await eventually(lambda: get_secondaries(client, claim))
        assert (secondary["payer_id"], secondary["coverage_order"], secondary["status"]) == (
            "SBX002",
            "secondary",
            "submitted",
        )
        edi = (await client.get(f"/v1/claims/{secondary['id']}/837", headers=RW)).text
        assert x12_837_errors(edi) == []
        segs = [[s.id, *s.elements] for s in x12.parse(edi).transactions[0].segments]
        # 2000B: the secondary's coverage (no group number given for it); 2320: the primary's.
        assert ["SBR", "S", "18", "", "", "", "", "", "", "CI"] in segs
        assert ["SBR", "P", "18", "GRP100", "", "", "", "", "", "CI"] in segs
        il = [s[9] for s in segs if s[:2] == ["NM1", "IL"]]
        assert il == ["SBX40002S", "SBX40002"]  # 2010BA: the secondary's member; 2330A: the primary's
        assert ["AMT", "D", "100"] in segs and ["AMT", "EAF", "30"] in segs
        assert ["NM1", "PR", "2", "SANDBOX HEALTH PLAN", "", "", "", "", "PI", "SBX001"] in segs
        # Every adjustment was at line level: the 2320 has none, the 2430s have each line's.
        lx = segs.index(["LX", "1"])
        assert [s for s in segs[:lx] if s[0] == "CAS"] == []
        assert [s for s in segs[lx:] if s[0] in ("SVD", "CAS")] == [
            ["SVD", "SBX001", "80", "HC:99213:25", "", "1"],
            ["CAS", "CO", "45", "25"],
            ["CAS", "PR", "2", "20"],
            ["SVD", "SBX001", "20", "HC:93000:59", "", "1"],
            ["CAS", "CO", "45", "20"],
            ["CAS", "PR", "2", "10"],
        ]
        event = await read_event(servers.kafka_bootstrap, "claim.submitted", start, secondary["id"])
        assert event["coverage_order"] == "secondary" and event["payer_id"] == "SBX002"


async def get_secondaries(client, claim):
    items = await get_claims(client, patient_id=claim["patient_id"], payer_id="SBX002")
    return [c for c in items if c["primary_claim_id"] == claim["id"]]


async def test_secondary_payer_can_come_from_the_eligibility_check(claims, settings, producer):
    async with claims() as (_, client):
        body = make_claim(unique("pat"))
        await make_eligibility(
            settings,
            body["patient_id"],
            "SBX001",
            body["lines"][0]["date_of_service"],
            # 271 loop 2110C EB*R with REF*1W: the other payer's own member id.
            [OtherPayer(payer_id="SBX002", order="secondary", member_id="SBX40002S").model_dump()],
        )
        body["subscriber"]["member_id"] = "SBX40002"
        claim = (await client.post("/v1/claims", json=body, headers=RW)).json()
        assert (await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)).status_code == 200
        await publish(
            producer,
            make_payment(claim, paid="150.00", patient_resp="25.00", adjustments=[("PR", "1", "25.00")]),
        )
        (secondary,) = await eventually(lambda: get_secondaries(client, claim))
        assert secondary["status"] == "submitted"
        edi = (await client.get(f"/v1/claims/{secondary['id']}/837", headers=RW)).text
        assert x12_837_errors(edi) == []
        segs = [[s.id, *s.elements] for s in x12.parse(edi).transactions[0].segments]
        assert [s[9] for s in segs if s[:2] == ["NM1", "IL"]] == ["SBX40002S", "SBX40002"]
        # A second posting for the same primary does not bill the secondary twice.
        await publish(
            producer,
            make_payment(claim, paid="150.00", patient_resp="25.00", adjustments=[("PR", "1", "25.00")]),
        )
        # The same payment.posted (one payment_id) delivered twice is taken once: the postings are
        # ordered on the claim's partition, so after the last one the history has 7 rows, not 8.
        # (Dedupe is by payment, not by trace number: one 835 may carry a reversal and its
        # correction, 835 loop 2100 CLP02 = 22 and then 1, under one TRN02.)
        again = make_payment(claim, paid="150.00", patient_resp="25.00", adjustments=[("PR", "1", "25.00")])
        await publish(producer, again)
        await publish(producer, again)
        last = make_payment(claim, paid="150.00", patient_resp="25.00", adjustments=[("PR", "1", "25.00")])
        await publish(producer, last)

        async def last_applied() -> dict[str, Any] | None:
            got = await get_claim(client, claim["id"])
            return got if got["adjudication"]["payment_id"] == str(last.payment_id) else None

        assert len((await eventually(last_applied))["history"]) == 7
        assert len(await get_secondaries(client, claim)) == 1


async def _count_history(client, claim_id, n):
    return len((await get_claim(client, claim_id))["history"]) >= n


async def test_followups_aging_and_kpis(claims, settings, servers, producer):
    start = await end_offsets(servers.kafka_bootstrap, "claim.followup_due")
    async with claims() as (app, client):
        body = make_claim(unique("pat"), payer_id="SBX003")
        before = (await client.get("/v1/reports/ar-aging", headers=RW)).json()
        claim = await post_submitted_claim(client, settings, body)
        later = datetime.now(UTC) + timedelta(days=31)
        due = (
            await client.get(
                "/v1/followups", params={"as_of": later.isoformat(), "payer_id": "SBX003"}, headers=RW
            )
        ).json()["items"]
        assert claim["id"] in [f["claim_id"] for f in due]
        now_due = (await client.get("/v1/followups", params={"payer_id": "SBX003"}, headers=RW)).json()[
            "items"
        ]
        assert claim["id"] not in [f["claim_id"] for f in now_due]
        assert await followups.step(app, now=later) >= 1
        assert await followups.step(app, now=later) == 0  # once per submission
        event = await read_event(servers.kafka_bootstrap, "claim.followup_due", start, claim["id"])
        assert event["days_outstanding"] == 31 and event["payer_id"] == "SBX003"

        after = (await client.get("/v1/reports/ar-aging", headers=RW)).json()

        def bucket(report, payer, name):
            for p in report["payers"]:
                if p["payer_id"] == payer:
                    return p["buckets"][name]
            return {"claims": 0, "balance": "0.00"}

        b0, b1 = bucket(before, "SBX003", "0-30"), bucket(after, "SBX003", "0-30")
        assert b1["claims"] - b0["claims"] == 1
        assert Decimal(b1["balance"]) - Decimal(b0["balance"]) == Decimal("175.00")
        old = (
            await client.get(
                "/v1/reports/ar-aging",
                params={"as_of": (date.today() + timedelta(days=100)).isoformat()},
                headers=RW,
            )
        ).json()
        assert bucket(old, "SBX003", "91-120")["claims"] >= 1

        # KPIs over this payer's claims of today (only this test bills SBX003): the claim above is
        # clean and waiting; one more is dirty at first, then fixed and paid first time; one is denied.
        dirty = make_claim(unique("pat"), payer_id="SBX003", place_of_service="98")
        created = (await client.post("/v1/claims", json=dirty, headers=RW)).json()
        assert (await client.post(f"/v1/claims/{created['id']}/scrub", headers=RW)).json()["clean"] is False
        await client.patch(f"/v1/claims/{created['id']}", json={"place_of_service": "11"}, headers=RW)
        await make_eligibility(settings, dirty["patient_id"], "SBX003", dirty["lines"][0]["date_of_service"])
        paid = (await client.post(f"/v1/claims/{created['id']}/submit", headers=RW)).json()
        denied = await post_submitted_claim(client, settings, make_claim(unique("pat"), payer_id="SBX003"))
        await publish(producer, make_payment(paid, paid="140.00", adjustments=[("CO", "45", "35.00")]))
        await publish(
            producer, make_payment(denied, paid="0.00", status_code="4", adjustments=[("CO", "50", "175.00")])
        )
        await eventually(lambda: get_claim_if(client, paid["id"], "paid"))
        await eventually(lambda: get_claim_if(client, denied["id"], "denied"))
        today = date.today().isoformat()
        kpis = (
            await client.get(
                "/v1/reports/kpis",
                params={"date_from": today, "date_to": today, "payer_id": "SBX003"},
                headers=RW,
            )
        ).json()
        pair = lambda r: (r["numerator"], r["denominator"])  # noqa: E731
        assert kpis["claims_created"] == 3
        assert pair(kpis["clean_claim_rate"]) == (2, 3)
        assert pair(kpis["first_pass_resolution_rate"]) == (1, 2)
        assert pair(kpis["denial_rate"]) == (1, 2) and kpis["denial_rate"]["rate"] == 0.5
        assert {k: pair(v) for k, v in kpis["denial_rate_by_reason"].items()} == {"50": (1, 2)}
        assert {k: pair(v) for k, v in kpis["denial_rate_by_payer"].items()} == {"SBX003": (1, 2)}
        assert kpis["open_ar"] == "350.00"  # the waiting claim and the denied one
        assert kpis["days_in_ar"] == 0.7  # 350 open ÷ 525 charged in one day
        # Writing the denial off moves money, so it is done in payments (approved by a second
        # person); payments' denial.resolved resolves it here and closes the claim.
        (open_denial,) = (
            await client.get("/v1/denials", params={"claim_id": denied["id"]}, headers=RW)
        ).json()["items"]
        here = await client.post(
            f"/v1/denials/{open_denial['id']}/resolve",
            json={"resolution": "written_off", "note": "small"},
            headers=RW,
        )
        assert here.status_code == 409
        await publish(
            producer,
            DenialResolved(
                claim_id=uuid.UUID(denied["id"]),
                account_id=denied["patient_id"],
                payer_id="SBX003",
                resolution="written_off",
                amount=Decimal("175.00"),
                resolved_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: get_claim_if(client, denied["id"], "closed"))
        params = {"claim_id": denied["id"], "status": "resolved"}
        (resolved,) = (await client.get("/v1/denials", params=params, headers=RW)).json()["items"]
        assert (resolved["status"], resolved["resolution"]) == ("resolved", "written_off: in payments")
        again = await client.post(
            f"/v1/denials/{open_denial['id']}/assign", json={"assignee": "x"}, headers=RW
        )
        assert again.status_code == 409
        everyone = (await client.get("/v1/reports/kpis", params={"date_from": today}, headers=RW)).json()
        assert everyone["claims_created"] >= 3
        bad = await client.get(
            "/v1/reports/kpis", params={"date_from": "2026-02-01", "date_to": "2026-01-01"}, headers=RW
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.date_from"


async def test_prior_auth_edit_reads_our_copy_of_authorization_recorded(claims, settings, producer):
    async with claims() as (_, client):
        body = make_claim(unique("pat"))
        dos = date.fromisoformat(body["lines"][0]["date_of_service"])
        body["lines"] = [{**body["lines"][0], "code": "29881", "modifiers": [], "diagnosis_pointers": [1]}]
        await make_eligibility(settings, body["patient_id"], "SBX001", dos.isoformat())
        claim = (await client.post("/v1/claims", json=body, headers=RW)).json()
        scrub = (await client.post(f"/v1/claims/{claim['id']}/scrub", headers=RW)).json()
        assert [(f["edit"], f["field"]) for f in scrub["findings"]] == [
            ("prior_authorization", "lines.0.code")
        ]
        assert "none is on file" in scrub["findings"][0]["message"]

        expired = AuthorizationRecorded(
            authorization_id=uuid.uuid4(),
            patient_id=body["patient_id"],
            payer_id="SBX001",
            number="PA-OLD",
            service_codes=["29881"],
            start_date=dos - timedelta(days=90),
            end_date=dos - timedelta(days=1),
        )
        await publish(producer, expired)

        async def finding() -> str | None:
            result = (await client.post(f"/v1/claims/{claim['id']}/scrub", headers=RW)).json()
            messages = [f["message"] for f in result["findings"]]
            return messages[0] if messages and "expired" in messages[0] else None

        assert "expired or used up" in await eventually(finding)
        # The payer extends it: the same authorization id, new end date → the claim is clean.
        await publish(producer, expired.model_copy(update={"end_date": dos + timedelta(days=30)}))

        async def clean() -> bool:
            return (await client.post(f"/v1/claims/{claim['id']}/scrub", headers=RW)).json()["clean"]

        assert await eventually(clean)
        assert (await get_claim(client, claim["id"]))["status"] == "ready"


async def test_encounters_in_one_consumer_batch_see_each_other_as_duplicates(claims):
    """The encounter handler takes a consumer batch at once and inserts its claims together at
    the end; a second encounter for the same visit in the same batch must still find the
    first claim as a possible duplicate, and a later batch in the same transaction both."""
    from services.claims.submission.events import on_encounters_completed

    patient = unique("pat")
    dos = date.today() - timedelta(days=2)

    def visit() -> EncounterCompleted:
        return EncounterCompleted(
            encounter_id=unique("enc"),
            patient_id=patient,
            payer_id="SBX001",
            billing_provider_npi=BILLING_NPI,
            rendering_provider_npi=RENDERING_NPI,
            date_of_service=dos,
            place_of_service="11",
            diagnoses=["I10"],
            lines=[EncounterLine(code="99213", charge=Decimal("90.00"), diagnosis_pointers=[1])],
            coverages=[Coverage(payer_id="SBX001", member_id="SBX10001", order="primary")],
        )

    first, second, third = visit(), visit(), visit()
    async with claims(events=False) as (app, client):
        async with app.state.db.session() as session, session.begin():
            batch = [new_event(e, source=TEST_EHR_SOURCE) for e in (first, second, second)]  # 2nd once only
            await on_encounters_completed(session, batch)
            await on_encounters_completed(session, [new_event(third, source=TEST_EHR_SOURCE)])
        (one,) = await get_claims(client, encounter_id=first.encounter_id)
        (two,) = await get_claims(client, encounter_id=second.encounter_id)
        (three,) = await get_claims(client, encounter_id=third.encounter_id)
        scrubs = {c["id"]: (await get_claim(client, c["id"]))["scrub"] for c in (one, two, three)}
        edits = {cid: [f["edit"] for f in scrub["findings"]] for cid, scrub in scrubs.items()}
        assert "duplicate_claim" not in edits[one["id"]]
        assert "duplicate_claim" in edits[two["id"]]
        assert "duplicate_claim" in edits[three["id"]]
        async with app.state.db.session() as session:
            # Written in bulk: Python None is SQL NULL (not JSON null), as the ORM would write it.
            nulls = await session.execute(
                text(
                    "SELECT count(*) FROM claims WHERE encounter_id = ANY(:ids) "
                    "AND adjudication IS NULL AND original_claim_id IS NULL AND scrub IS NOT NULL"
                ),
                {"ids": [first.encounter_id, second.encounter_id, third.encounter_id]},
            )
            assert nulls.scalar_one() == 3
        messages = [f["message"] for f in scrubs[three["id"]]["findings"] if f["edit"] == "duplicate_claim"]
        assert one["patient_control_number"] in " ".join(messages)
        assert two["patient_control_number"] in " ".join(messages)


async def test_acknowledgments_of_one_poll_are_applied_as_one_at_a_time_would(claims, settings):
    """The acknowledgment handler takes a poll at once in plain SQL: the first answer per claim
    counts, a claim matched by patient control number alone is found, a claim the payer already
    paid (earlier in the same transaction, through the ORM) stays paid, an unknown one is
    ignored; a rejection later in that transaction sees the accepted status."""
    from services.claims.adjudication.events import (
        on_claims_acknowledged,
        on_claims_rejected,
        on_payments_posted,
    )

    async with claims(events=False) as (app, client):
        a, b, c, d = [
            await post_submitted_claim(client, settings, make_claim(unique("pat"))) for _ in range(4)
        ]

        def ack(claim: dict[str, Any] | None, pccn: str, *, by_id: bool = True) -> Any:
            return new_event(
                ClaimAcknowledged(
                    claim_id=uuid.UUID(claim["id"]) if claim and by_id else None,
                    patient_control_number=claim["patient_control_number"] if claim else unique("PCN")[:17],
                    payer_claim_control_number=pccn,
                    acknowledged_at=datetime.now(UTC),
                ),
                source="/tests/payer",
            )

        paid_c = new_event(
            make_payment(c, paid="90.00", adjustments=[("CO", "45", "35.00")]), source="/tests"
        )
        reject_d = new_event(
            ClaimRejected(
                claim_id=uuid.UUID(d["id"]),
                patient_control_number=d["patient_control_number"],
                reasons=[RejectionReason(code="A7:21", message="late front-end edit")],
                rejected_at=datetime.now(UTC),
            ),
            source="/tests/payer",
        )
        async with app.state.db.session() as session, session.begin():
            # d is loaded into the session first (a reversal changes no status), so the
            # rejection below must read it again after the acknowledgments' UPDATE.
            reversal_d = new_event(
                make_payment(d, paid="0.00", adjustments=[], status_code="22"), source="/tests"
            )
            await on_payments_posted(session, [paid_c, reversal_d])
            await on_claims_acknowledged(
                session,
                [
                    ack(a, "ICN-A1"),
                    ack(a, "ICN-A2"),
                    ack(b, "ICN-B", by_id=False),
                    ack(c, "ICN-C"),
                    ack(d, "ICN-D"),
                    ack(None, "ICN-X"),
                ],
            )
            await on_claims_rejected(session, [reject_d])
        got = {k: await get_claim(client, v["id"]) for k, v in {"a": a, "b": b, "c": c, "d": d}.items()}
    assert [h["to_status"] for h in got["a"]["history"]] == ["draft", "ready", "submitted", "accepted"]
    assert got["a"]["payer_claim_control_number"] == "ICN-A1"
    assert got["b"]["status"] == "accepted" and got["b"]["payer_claim_control_number"] == "ICN-B"
    assert got["c"]["status"] == "paid" and "accepted" not in [h["to_status"] for h in got["c"]["history"]]
    assert [h["to_status"] for h in got["d"]["history"]][-2:] == ["accepted", "rejected"]
    assert got["d"]["history"][-1]["from_status"] == "accepted"
