"""The front office's registry end to end (issue 19, must-show stories "Address change", "Member
id" and "Discrepancy"), on the platform `make up` runs.

Everything goes through what a billing office and its partners use: REST on the front office
(8007) and the other services, the EHR's `encounter.completed` on Kafka, the payer sandbox (270/271
over HTTP, its clearinghouse behind the gateway's SFTP mailbox). Kafka is read only to know that a
consumer has handled a record (its group's committed offset), never to stand in for a service.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from deploy.payer_sandbox.ehr import BILLING_NPI, PROVIDERS
from shared import x12
from shared.auth import mint_token
from shared.events.envelope import decode
from shared.kafka import client_kwargs
from tests.claims.cob import x12_837_errors
from tests.claims.test_member_id_story import segments_by_loop, subscriber_member_id
from tests.e2e.platform import (
    SCENARIOS,
    SCOPES,
    URLS,
    Watch,
    claim_in,
    encounter,
    eventually,
    generated_member,
    kafka,
    publish,
    service_date,
    unique,
)

pytestmark = pytest.mark.usefixtures("platform")

# A billing office's user who also keeps the registry (patients:*) and, for story 3 only, reads
# the raw 271 the check got (eligibility:x12, the dedicated raw X12 scope).
STAFF = {
    "Authorization": "Bearer "
    + mint_token(
        [*SCOPES, "payments:admin", "patients:read", "patients:write", "eligibility:x12"],
        subject="e2e-front-office",
    )
}
DONE = ("paid", "partial", "denied")
FO = URLS["frontoffice"]


def demographics(first: str, last: str, birth: str, line1: str, *, sex: str = "F") -> dict[str, Any]:
    return {
        "first_name": first,
        "last_name": last,
        "birth_date": birth,
        "sex": sex,
        "address": {"line1": line1, "city": "SPRINGFIELD", "state": "IL", "postal_code": "62704"},
    }


async def post_patient(http: httpx.AsyncClient, patient_id: str, person: dict[str, Any]) -> dict[str, Any]:
    resp = await http.post(
        f"{FO}/v1/patients", json={"patient_id": patient_id, "patient": person}, headers=STAFF
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def post_coverage(http: httpx.AsyncClient, patient_id: str, member_id: str) -> dict[str, Any]:
    """The patient as their own subscriber (18) with SBX001, in force for a year back."""
    resp = await http.post(
        f"{FO}/v1/patients/{patient_id}/coverages",
        headers=STAFF,
        json={
            "order": "primary",
            "payer_id": "SBX001",
            "member_id": member_id,
            "group_number": "GRP1001",
            "effective_date": (date.today() - timedelta(days=365)).isoformat(),
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def handled_by(group: str, topic: str, match: Any, watch: Watch) -> None:
    """Wait until consumer group `group` committed past the record of `topic` that `match`es: the
    service has handled it (there is no HTTP view of every copy a service keeps)."""

    def ok(record: Any) -> bool:
        try:
            return match(decode(record.topic, record.key, record.value, record.headers))
        except Exception:
            return False  # someone else's record on a shared topic

    (record,) = await watch.raw(topic, ok)
    admin = AIOKafkaAdminClient(**client_kwargs(kafka()))
    await admin.start()
    try:

        async def committed() -> bool | None:
            offsets = await admin.list_consumer_group_offsets(group)
            meta = [m for tp, m in offsets.items() if (tp.topic, tp.partition) == (topic, record.partition)]
            return True if meta and meta[0].offset > record.offset else None

        await eventually(committed, what=f"{group} handled the {topic} record")
    finally:
        await admin.close()


async def get_json(http: httpx.AsyncClient, service: str, path: str, **params: Any) -> Any:
    """platform.get_json as the front-office user (patients:read is not in the suite's token)."""
    resp = await http.get(URLS[service] + path, params=params or None, headers=STAFF)
    assert resp.status_code == 200, f"GET {service}{path}: {resp.status_code} {resp.text}"
    return resp.json()


async def statement(http: httpx.AsyncClient, statement_id: str) -> dict[str, Any]:
    return await get_json(http, "payments", f"/v1/statements/{statement_id}")


async def test_address_change_the_next_statement_and_the_collections_export_carry_the_new_address(
    http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    """Issue 19 "Address change"; docs/payments.md "The front office": payments keeps the
    registry's record (highest revision wins, over every encounter), the next statement's
    `recipient` and every collections export's `debtor` read the current copy, and a statement
    already issued keeps the address it was issued with."""
    visit = encounter(generated_member(), [("99213", "150.00")])
    patient = visit.patient_id
    sub = SCENARIOS["SBX10001"]["subscriber"]
    # Registered before the visit, at an address the encounter does not carry (it says 1 MAIN ST).
    await post_patient(
        http, patient, demographics(sub["first_name"], sub["last_name"], sub["birth_date"], "12 ELM ST")
    )

    # The visit goes through the cycle; the payer leaves the copay to the patient.
    await publish(producer, visit)
    claim = await claim_in(http, DONE, encounter_id=visit.encounter_id)
    assert claim["status"] == "paid" and float(claim["patient_responsibility"]) > 0, claim

    async def owes() -> dict[str, Any] | None:
        account = await get_json(http, "payments", f"/v1/accounts/{patient}")
        return account if float(account["patient_due"]) > 0 else None

    await eventually(owes, what="the patient's share on the account")

    first = date.today()
    run = await http.post(
        f"{URLS['payments']}/v1/statements/run-cycle",
        params={"statement_date": first.isoformat(), "account_id": patient},
        headers=STAFF,
    )
    assert run.status_code == 200, run.text
    (first_id,) = run.json()["issued"]
    assert (await statement(http, first_id))["recipient"]["address_lines"][0] == "12 ELM ST"

    # She moves: the registry's PATCH (reason moved, based on the revision we read).
    async with Watch(["patient.updated"]) as watch:
        current = await http.get(f"{FO}/v1/patients/{patient}", headers=STAFF)
        moved = await http.patch(
            f"{FO}/v1/patients/{patient}",
            headers={**STAFF, "If-Match": current.headers["ETag"]},
            json={
                "address": {"line1": "400 OAK AVE", "city": "URBANA", "state": "IL", "postal_code": "61801"},
                "reason": "moved",
                "note": "patient called",
            },
        )
        assert moved.status_code == 200, moved.text
        revision = moved.json()["revision"]
        await handled_by(
            "payments",
            "patient.updated",
            lambda e: e.data.patient_id == patient and e.data.revision == revision,
            watch,
        )

    # The next statement of her sequence (30 days on) goes to the new home.
    cycle = await http.post(
        f"{URLS['payments']}/v1/payment-plans/run-cycle",
        params={"as_of": (first + timedelta(days=30)).isoformat()},
        headers=STAFF,
    )
    assert cycle.status_code == 200, cycle.text
    dunning = await get_json(http, "payments", f"/v1/accounts/{patient}/dunning")
    second_ids = [s["statement_id"] for s in dunning["steps"] if s["statement_id"] not in (None, first_id)]
    assert len(second_ids) == 1, dunning
    after = await statement(http, second_ids[0])
    assert after["recipient"]["address_lines"] == ["400 OAK AVE", "URBANA, IL 61801"]
    assert (await statement(http, first_id))["recipient"]["address_lines"][0] == "12 ELM ST"  # as issued

    # The rest of the dunning sequence, to the agency: the export's debtor lives at the new address.
    for days in (60, 90, 120, 150):
        step = await http.post(
            f"{URLS['payments']}/v1/payment-plans/run-cycle",
            params={"as_of": (first + timedelta(days=days)).isoformat()},
            headers=STAFF,
        )
        assert step.status_code == 200, step.text
    assert (await get_json(http, "payments", f"/v1/accounts/{patient}/dunning"))["status"] == "referred"
    params = {"date_from": date.today().isoformat()}
    document = await http.get(
        f"{URLS['payments']}/v1/collections/export",
        params=params,
        headers={**STAFF, "Accept": "application/json"},
    )
    assert document.status_code == 200, document.text
    (referral,) = [r for r in document.json()["referrals"] if r["account_id"] == patient]
    assert (referral["debtor"]["address"]["line1"], referral["debtor"]["address"]["postal_code"]) == (
        "400 OAK AVE",
        "61801",
    )
    text = (await http.get(f"{URLS['payments']}/v1/collections/export", params=params, headers=STAFF)).text
    (row,) = [r for r in csv.DictReader(io.StringIO(text.split("\n\n")[0])) if r["account_id"] == patient]
    assert "400 OAK AVE" in row["debtor_address"]
    assert "12 ELM ST" not in row["debtor_address"] and "1 MAIN ST" not in row["debtor_address"]


async def test_member_id_corrected_flags_the_open_claim_and_the_corrected_claim_carries_the_new_id(
    http: httpx.AsyncClient,
) -> None:
    """Issue 19 "Member id"; docs/claims.md "The registry copy and claim flags": a claim with only
    the patient id takes the coverage from claims' copy; a `member_id_corrected` change flags the
    patient's open claims with that payer billed with another id; the corrected claim (005010X222A1
    loop 2300 CLM05-3 = 7, REF*F8 = the payer's claim control number of the original) carries the
    new member id in loop 2010BA NM109."""
    patient, old_id, new_id = unique("e2e-fo-pat"), generated_member(), generated_member()
    sub = SCENARIOS["SBX10001"]["subscriber"]
    await post_patient(
        http, patient, demographics(sub["first_name"], sub["last_name"], sub["birth_date"], "1 MAIN ST")
    )
    coverage = (await post_coverage(http, patient, old_id))["coverages"][0]

    # A claim with the patient id and no coverage: payer and subscriber come from the registry copy.
    # 97810 is not covered by SBX001 (payers.json), so the payer pays the visit and denies that
    # line: the claim is adjudicated (it has the payer's number) and still open (partial).
    dos = service_date().isoformat()
    body = {
        "patient_id": patient,
        "billing_provider": {"npi": BILLING_NPI},
        "rendering_provider": {"npi": PROVIDERS[1]},
        "place_of_service": "11",
        "diagnoses": ["M5450", "I10"],
        "lines": [
            {"code": code, "units": "1", "charge": charge, "date_of_service": dos, "diagnosis_pointers": [1]}
            for code, charge in (("99213", "150.00"), ("97810", "80.00"))
        ],
    }

    async def created() -> dict[str, Any] | None:
        resp = await http.post(f"{URLS['claims']}/v1/claims", json=body, headers=STAFF)
        if resp.status_code == 422 and "body.payer_id" in resp.text:
            return None  # claims has not heard coverage.updated yet
        assert resp.status_code == 201, resp.text
        return resp.json()

    claim = await eventually(created, what="a claim from the registry copy")
    assert claim["payer_id"] == "SBX001"
    sent = await http.post(f"{URLS['claims']}/v1/claims/{claim['id']}/submit", headers=STAFF)
    assert sent.status_code == 200, sent.text
    first_837 = await http.get(f"{URLS['claims']}/v1/claims/{claim['id']}/837", headers=STAFF)
    assert subscriber_member_id(first_837.text) == old_id  # billed with the registry's member id
    claim = await claim_in(http, DONE, patient_id=patient)
    assert claim["status"] == "partial" and claim["payer_claim_control_number"], claim

    # The member id is corrected in the registry: claims flags the open claim.
    listed = await http.get(f"{FO}/v1/patients/{patient}/coverages", headers=STAFF)
    patched = await http.patch(
        f"{FO}/v1/patients/{patient}/coverages/{coverage['coverage_id']}",
        headers={**STAFF, "If-Match": f'"{listed.json()["revision"]}"'},
        json={"member_id": new_id, "reason": "correction", "note": "card re-scanned"},
    )
    assert patched.status_code == 200, patched.text
    assert [c["kind"] for c in patched.json()["changes"]] == ["member_id_corrected"]

    async def flagged() -> list[dict[str, Any]] | None:
        items = (await get_json(http, "claims", f"/v1/claims/{claim['id']}/flags"))["items"]
        return items or None

    (flag,) = await eventually(flagged, what="the open claim flagged")
    assert (flag["kind"], flag["status"]) == ("member_id_corrected", "open")

    # The corrected claim goes out with nothing re-typed.
    resp = await http.post(f"{URLS['claims']}/v1/claims/{claim['id']}/corrections", json={}, headers=STAFF)
    assert resp.status_code == 201, resp.text
    replacement = resp.json()
    edi = await http.get(f"{URLS['claims']}/v1/claims/{replacement['id']}/837", headers=STAFF)
    assert edi.status_code == 200, edi.text
    assert x12_837_errors(edi.text) == []
    segments = segments_by_loop(edi.text)
    (clm,) = [r for loop, seg, r in segments if (loop, seg) == ("2300", "CLM")]
    assert (clm["CLM01"], clm["CLM05-3"]) == (replacement["patient_control_number"], "7")
    f8 = [r["REF02"] for loop, seg, r in segments if (loop, seg) == ("2300", "REF") and r["REF01"] == "F8"]
    assert f8 == [claim["payer_claim_control_number"]]
    assert subscriber_member_id(edi.text) == new_id
    assert old_id not in edi.text
    (done,) = (await get_json(http, "claims", f"/v1/claims/{claim['id']}/flags"))["items"]
    assert done["status"] == "resolved"


def dmg02_2100c(text_271: str) -> str:
    """The subscriber's birth date in a 271 (005010X279A1 loop 2100C DMG02, format D8): the DMG
    after NM1*IL and before any 2000D/2100D (HL of level 23) or benefits."""
    segments = x12.parse(text_271).transactions[0].segments
    in_2100c = False
    for s in segments:
        if s.id == "NM1":
            in_2100c = s.elements[0] == "IL"
        elif s.id == "HL":
            in_2100c = False
        elif s.id == "DMG" and in_2100c:
            assert s.elements[0] == "D8"
            return f"{s.elements[1][:4]}-{s.elements[1][4:6]}-{s.elements[1][6:8]}"
    raise AssertionError("no 2100C DMG in the 271")


async def test_a_271_with_another_birth_date_opens_a_discrepancy_and_accepting_updates_the_registry(
    http: httpx.AsyncClient,
) -> None:
    """Issue 19 "Discrepancy"; docs/eligibility.md "Checks from the registry": a check with only
    the patient id and a date runs from eligibility's copy, its 271 (2100C DMG02) is compared with
    it and a disagreement is published; docs/patients.md "Discrepancies": the front office opens
    one, and accepting applies the payer's value as a new revision with reason payer_271."""
    patient = unique("e2e-fo-dob")
    sub = SCENARIOS["SBX10001"]["subscriber"]
    registry_birth = "1979-11-30"
    assert registry_birth != sub["birth_date"]  # a different date; the payer's is read from its 271
    # Who the payer has on file for SBX10001 (the sandbox's scenario table), but for the birth date.
    person = demographics(sub["first_name"], sub["last_name"], registry_birth, "", sex=sub["gender"])
    person["address"] = sub["address"]
    await post_patient(http, patient, person)
    await post_coverage(http, patient, "SBX10001")

    async def checked() -> dict[str, Any] | None:
        resp = await http.post(
            f"{URLS['eligibility']}/v1/eligibility/checks",
            headers=STAFF,
            json={"patient_id": patient, "date_of_service": service_date().isoformat()},
        )
        if resp.status_code == 422 and "no_registered_coverage" in resp.text:
            return None  # eligibility has not heard coverage.updated yet
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    check = await eventually(checked, what="a check from the registry copy")

    async def finished() -> dict[str, Any] | None:
        state = await get_json(http, "eligibility", f"/v1/eligibility/checks/{check['id']}")
        return state if state["state"] == "done" else None

    check = await eventually(finished, what="the check answered")
    raw = await http.get(f"{URLS['eligibility']}/v1/eligibility/checks/{check['id']}/x12", headers=STAFF)
    assert raw.status_code == 200, raw.text
    payer_birth = dmg02_2100c(raw.json()["x12_271"])
    assert payer_birth != registry_birth
    assert "birth_date" in check["registry_discrepancies"]

    async def opened() -> dict[str, Any] | None:
        items = (await get_json(http, "frontoffice", "/v1/discrepancies", patient_id=patient, status="open"))[
            "items"
        ]
        return items[0] if items else None

    discrepancy = await eventually(opened, what="a discrepancy in the front office")
    # Only the birth date disagrees (name, sex and address as the payer has them: no false alarm).
    (field,) = discrepancy["fields"]
    assert field["field"] == "birth_date"
    assert (field["registry_value"], field["payer_value"]) == (registry_birth, payer_birth)

    accepted = await http.post(
        f"{FO}/v1/discrepancies/{discrepancy['id']}/accept",
        json={"fields": ["birth_date"], "note": "matches the card"},
        headers=STAFF,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["outcome"]["birth_date"] == "applied"
    now = await get_json(http, "frontoffice", f"/v1/patients/{patient}")
    assert now["patient"]["birth_date"] == payer_birth
    history = (await get_json(http, "frontoffice", f"/v1/patients/{patient}/history"))["items"]
    assert history[0]["reason"] == "payer_271" and history[0]["fields"] == ["birth_date"]
    assert history[0]["after"] == {"birth_date": payer_birth}
    assert str(uuid.UUID(discrepancy["id"])) in (history[0]["note"] or "")
