"""An inpatient stay end to end, on the platform `make up` runs (issue 20, "Must show: End to end").

The sandbox EHR's hospital sends `encounter.completed` of kind institutional (a heart-failure
stay, deploy/payer_sandbox/ehr_hospital.py); the claims service makes an institutional claim of
it, groups its MS-DRG (292), scrubs it and submits it; the gateway files it as an 837I
(005010X223A2) in the sandbox clearinghouse's SFTP mailbox; the sandbox's payer prices it by
the DRG (its base rate x the DRG's weight, as data) and answers with an 835 (CLP08 facility
code, CLP11 DRG, CLP12 weight, MIA); payments posts it on the patient's account and the patient
is told, and the reports count it as institutional. The patient's deductible and coinsurance
are what the payer's 271 says for service type 48 (hospital inpatient), read through the
eligibility service's check like a billing office does, not from the sandbox's code.

What the test reads besides the services' APIs and Kafka: the sandbox's data files (the payer's
DRG terms, as the revenue-cycle stories read its scenario table) and the sandbox's own record of
the files that arrived in its mailbox (its SQLite store, read only), which is what "the 837I is
in the SFTP mailbox" means from the clearinghouse's side.
"""

from __future__ import annotations

import json
import random
import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from deploy.payer_sandbox import ehr_hospital
from deploy.payer_sandbox.config import DEFAULT_STATE_PATH
from shared import x12
from shared.events.catalogue import EncounterCompleted
from tests.e2e.platform import (
    AUTH,
    ROOT,
    SCENARIOS,
    URLS,
    Watch,
    claim_in,
    encounter,
    eventually,
    generated_member,
    get_json,
    inbox,
    mail_to,
    publish,
    register_patient,
)

pytestmark = pytest.mark.usefixtures("platform")
DONE = ("paid", "partial", "denied")
CENTS = Decimal("0.01")
# The sandbox payers' institutional contracts: DRG base rates, CMS FY 2026 Table 5 weights.
RATES_FILE = ROOT / "deploy/payer_sandbox/data/institutional.json"


def money(value: Any) -> Decimal:
    return Decimal(str(value or "0"))


def drg_allowed(payer_id: str, drg: str, charge: Decimal) -> tuple[Decimal, Decimal]:
    """(allowed, relative weight) of a DRG-priced stay by the sandbox payer's contract, from its
    data: base rate x weight, at the lesser of that and the charges where the contract says so."""
    rates = json.loads(RATES_FILE.read_text())
    inpatient = rates["payers"][payer_id]["inpatient"]
    weight = Decimal(rates["drg_weights"]["weights"][drg]["weight"])
    priced = (Decimal(inpatient["drg_base_rate"]) * weight).quantize(CENTS, ROUND_HALF_UP)
    return (min(priced, charge) if inpatient.get("lesser_of_charges") else priced), weight


def heart_failure_stay(member: str) -> EncounterCompleted:
    """The hospital's heart-failure stay (I5021 with N179 arising during the stay: MS-DRG 292)
    for a new patient on a generated member of SBX001, discharged inside the timely-filing
    window on a date of its own (the sandbox's duplicate check keeps runs apart)."""
    base = encounter(member, [("99213", "1.00")])  # the patient, coverage and ids of a visit
    (stay,) = [s for s in ehr_hospital.STAYS if s.name == "heart_failure"]
    part = ehr_hospital.inpatient(random.Random(), stay, base.date_of_service)
    body = base.model_dump(exclude={"lines", "diagnoses", "date_of_service", "place_of_service"})
    body.update(
        kind="institutional",
        billing_provider_npi=ehr_hospital.HOSPITAL_NPI,
        rendering_provider_npi=None,
        **part,
    )
    return EncounterCompleted.model_validate(body)


def segments_of(text: str) -> list[list[str]]:
    return [[s.id, *s.elements] for t in x12.parse(text).transactions for s in t.segments]


def clp_loop(segments: list[list[str]], pcn: str) -> list[list[str]]:
    """One claim's loop 2100 of an 835 (from its CLP to the next CLP or the end of the set)."""
    start = next(i for i, s in enumerate(segments) if s[:2] == ["CLP", pcn])
    end = next((i for i, s in enumerate(segments[start + 1 :], start + 1) if s[0] in ("CLP", "SE")), None)
    return segments[start:end]


def mailbox_file_with(pcn: str) -> str | None:
    """The 837 that arrived in the sandbox clearinghouse's SFTP mailbox carrying this claim."""
    with sqlite3.connect(f"file:{DEFAULT_STATE_PATH}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT text FROM files_in WHERE text LIKE ?", (f"%CLM*{pcn}*%",)).fetchall()
    return rows[0][0] if rows else None


async def inpatient_benefits(
    http: httpx.AsyncClient, visit: EncounterCompleted, member: str
) -> dict[str, Any]:
    """The payer's 271 for service type 48 (hospital inpatient), through the eligibility service."""
    sub = SCENARIOS["SBX10001"]["subscriber"]
    check = await http.post(
        f"{URLS['eligibility']}/v1/eligibility/checks",
        headers=AUTH,
        json={
            "patient_id": visit.patient_id,
            "patient": {k: sub[k] for k in ("first_name", "last_name", "birth_date")},
            "member_id": member,
            "payer_id": visit.payer_id,
            "provider_npi": ehr_hospital.HOSPITAL_NPI,
            "service_type_codes": ["48"],
            "date_of_service": visit.date_of_service.isoformat(),
        },
    )
    assert check.status_code in (200, 201), check.text
    body = check.json()
    assert (body["state"], body["status"]) == ("done", "active"), body
    found = [b for b in body["benefits"] if b["service_type_code"] == "48"]
    assert found, (
        f"the 271 has no benefits for service type 48: {[b['service_type_code'] for b in body['benefits']]}"
    )
    return found[0]


def expected_patient_share(benefits: dict[str, Any], allowed: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(deductible, coinsurance, copay) the 271's service-type-48 benefits make of `allowed`, in
    network, in the order payers apply them: the copay per admission, the deductible (the
    per-admission one when the plan has one, else what is left of the year's), the coinsurance
    percentage of what is left; each within what is left of the out-of-pocket maximum."""

    def in_network(*path: str) -> Any:
        value: Any = benefits
        for key in path:
            value = (value or {}).get(key)
        return (value or {}).get("in_network")

    per_admission = in_network("deductible_per_admission")
    year = (in_network("deductible", "individual") or {}).get("remaining")
    oop_left = (in_network("out_of_pocket", "individual") or {}).get("remaining")
    left = money(oop_left) if oop_left is not None else allowed
    copay = min(allowed, money(in_network("copay")))
    deductible = min(allowed - copay, money(per_admission if per_admission is not None else year))
    percent = money(in_network("coinsurance_percent"))
    coinsurance = ((allowed - copay - deductible) * percent / 100).quantize(CENTS, ROUND_HALF_UP)
    capped = []
    for amount in (copay, deductible, coinsurance):
        capped.append(min(amount, left))
        left -= capped[-1]
    copay, deductible, coinsurance = capped
    return deductible, coinsurance, copay


async def by_claim_type(http: httpx.AsyncClient) -> dict[str, Any]:
    """The institutional part of claims' KPIs and of payments' collections (today)."""
    kpis = (await get_json(http, "claims", "/v1/reports/kpis", by_claim_type="true"))["by_claim_type"]
    collections = (await get_json(http, "payments", "/v1/reports/collections"))["by_claim_type"]
    institutional = kpis["institutional"]
    return {
        "claims": {
            "created": institutional["claims_created"],
            "paid": institutional["claims_by_status"].get("paid", 0),
        },
        "insurance_payments": money((collections.get("institutional") or {}).get("insurance_payments")),
    }


async def test_an_inpatient_stay_from_encounter_to_a_drg_priced_835_posted_and_the_patient_told(
    http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    member = generated_member()
    stay = heart_failure_stay(member)
    patient = stay.patient_id
    contact = await register_patient(http, patient)
    benefits = await inpatient_benefits(http, stay, member)
    before = await by_claim_type(http)

    async with Watch(
        ["claim.submitted", "remittance.received", "payment.posted", "notification.sent"]
    ) as kafka:
        await publish(producer, stay)
        claim = await claim_in(http, DONE, encounter_id=stay.encounter_id)
        assert claim["status"] == "paid", claim

        # The claim: institutional, type of bill 0111, grouped to MS-DRG 292, scrubbed before it went out.
        full = await get_json(http, "claims", f"/v1/claims/{claim['id']}")
        data = full["data"]
        assert data["claim_type"] == "institutional"
        assert (data["institutional"]["facility_type_code"], data.get("frequency_code", "1")) == ("11", "1")
        assert data["institutional"]["drg_code"] == "292"
        assert data["attending_provider"]["npi"] == ehr_hospital.HOSPITALIST_NPI
        assert data["attending_provider"]["name"] == "OKAFOR"  # from the provider registry
        path = [h["to_status"] for h in full["history"]]
        assert {"draft", "ready"} & set(path) and "submitted" in path and path[-1] == "paid", path

        # The 837I the claims service wrote, as the clearinghouse received it in its mailbox.
        (submitted,) = await kafka.events("claim.submitted", lambda e: str(e.data.claim_id) == claim["id"])
        pcn = submitted.data.patient_control_number
        assert submitted.data.claim_type == "institutional"
        filed = await eventually(lambda: _async(mailbox_file_with(pcn)), what="the 837I in the SFTP mailbox")
        # Its transaction set, in the functional group of the 837I guide (GS08; the file may hold
        # an 837P group too).
        (ts,) = [
            t
            for t in x12.parse(filed).transactions
            if any(s.id == "CLM" and s.get(1) == pcn for s in t.segments)
        ]
        assert ts.group is not None and ts.group.version == "005010X223A2" == ts.st.get(3)
        sent = [[s.id, *s.elements] for s in ts.segments]
        clm = next(s for s in sent if s[:2] == ["CLM", pcn])
        assert clm[5].split(":") == ["11", "A", "1"]  # type of bill 0111
        assert ["HI", "DR:292"] in [s[:2] for s in sent]
        assert any(s[0] == "CL1" for s in sent)
        assert any(s[0] == "HI" and s[1].startswith("ABK:I5021") for s in sent)  # principal, with its POA

        # The sandbox's 835: priced by the DRG, with MIA.
        (remit,) = await kafka.events("remittance.received", lambda e: f"CLP*{pcn}*" in e.data.x12_835)
        clp_segments = clp_loop(segments_of(remit.data.x12_835), pcn)
        clp = clp_segments[0]
        charge = sum((line.charge for line in stay.lines), Decimal(0))
        allowed, weight = drg_allowed(stay.payer_id, "292", charge)
        assert (clp[8], clp[9], clp[11]) == ("11", "1", "292")  # CLP08 facility, CLP09 frequency, CLP11 DRG
        assert Decimal(clp[12]) == weight  # CLP12
        (mia,) = [s for s in clp_segments if s[0] == "MIA"]
        assert Decimal(mia[4]) == allowed  # MIA04, the DRG amount (below the charges here)

        # Posted on the patient's account, the patient's share as the 271 said.
        (posted,) = await kafka.events(
            "payment.posted", lambda e: e.data.source == "insurer" and str(e.data.claim_id) == claim["id"]
        )
        assert posted.data.claim_type == "institutional" and posted.data.drg_code == "292"
        assert posted.data.inpatient is not None
        assert posted.data.allowed == allowed
        deductible, coinsurance, copay = expected_patient_share(benefits, allowed)
        pr = {a.reason_code: a.amount for a in posted.data.adjustments if a.group_code == "PR"}
        assert (pr.get("1", Decimal(0)), pr.get("2", Decimal(0)), pr.get("3", Decimal(0))) == (
            deductible,
            coinsurance,
            copay,
        )
        assert deductible > 0 and coinsurance > 0  # the stay exercises both
        assert posted.data.patient_responsibility == deductible + coinsurance + copay
        assert posted.data.amount == allowed - posted.data.patient_responsibility
        account = await get_json(http, "payments", f"/v1/accounts/{patient}")
        assert (
            money(account["patient_due"])
            == money(claim["patient_responsibility"])
            == deductible + coinsurance + copay
        )

        # The patient is told (in-app, email, SMS), with what they owe and nothing clinical.
        notes = await kafka.events(
            "notification.sent",
            lambda e: e.data.recipient_id == patient and e.data.cause_event_id == posted.id,
            count=3,
        )
        assert {n.data.channel for n in notes} == {"inbox", "email", "sms"}
        (message,) = await mail_to(http, contact["email"], lambda m: "insurance" in m["subject"].lower())
        assert f"${money(claim['paid_amount']):,.2f}".replace(",", "") in message["text"].replace(",", "")
        for phi in (SCENARIOS["SBX10001"]["subscriber"]["last_name"], member, "I5021", "N179", "I50.21"):
            assert phi not in message["text"], phi
        assert "insurance_processed" in {n["template"] for n in await inbox(http, patient)}

    # The billing manager's reports count the stay as institutional (other work may run on the
    # platform meanwhile: growth of at least this stay's share, never exact totals).
    after = await by_claim_type(http)
    assert after["claims"]["created"] >= before["claims"]["created"] + 1
    assert after["claims"]["paid"] >= before["claims"]["paid"] + 1
    assert after["insurance_payments"] - before["insurance_payments"] >= posted.data.amount


async def _async(value: Any) -> Any:
    """`eventually` polls an awaitable; the mailbox's store is read synchronously."""
    return value
