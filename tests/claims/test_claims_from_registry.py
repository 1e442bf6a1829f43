"""New claims use the registry's current coverage (issue 19): a claim posted, or an encounter
sent, without coverage or demographics takes them from claims' copy of the registry — the
coverage in force on the date of service (effective on or before it, termination absent or on
or after it) in the order billed, primary first. What the request sends wins, and without a
copy the old answers stay (a 422 naming the field; the encounter's gaps held by the scrubber).

837P 005010X222A1: the billed coverage is loop 2000B SBR (SBR01 P/S/T) and 2010BA NM1*IL
(NM109 the member id); the other coverages in force are loops 2320/2330A (SBR01, NM109)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.events.catalogue import EncounterCompleted, EncounterLine
from tests.claims.helpers import (
    BILLING_NPI,
    RENDERING_NPI,
    get_claims,
    get_registry_copy,
    make_claim,
    make_coverage,
    make_coverage_updated,
    make_patient_updated,
    make_recent_date,
    publish,
    read_write,
)
from tests.conftest import eventually, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "practice_providers")
DOS = date.fromisoformat(make_recent_date())


def make_bare_claim(patient_id: str, **overrides):
    """A claim that names the patient, providers, diagnoses and lines, and no coverage."""
    body = make_claim(patient_id, **overrides)
    body.pop("subscriber")
    body.pop("payer_id")
    return body


async def register(producer, settings, patient_id: str, coverages, *, last_name: str = "Rivera") -> None:
    """The front office registers the patient and their coverages; claims' copy has both."""
    await publish(producer, make_patient_updated(patient_id, 1, last_name=last_name))
    await publish(producer, make_coverage_updated(patient_id, 2, coverages))

    async def copied():
        row = await get_registry_copy(settings, patient_id)
        return row and row["patient_revision"] == 1 and row["coverage_revision"] == 2

    await eventually(copied, what="the registry copy")


async def test_a_claim_with_only_the_patient_takes_the_coverage_in_force_on_the_date_of_service(
    claims, settings, producer
):
    patient_id = unique("pat")
    # (SBX003 is test_flow's own: its KPIs count every SBX003 claim of the day.)
    ended = make_coverage("SBX001", "OLDMEM1", termination_date=DOS - timedelta(days=1))
    primary = make_coverage("SBX002", "NEWMEM1", effective_date=DOS - timedelta(days=1))
    secondary = make_coverage("SBX001", "SECMEM1", order="secondary", group_number=None)
    async with claims() as (_, client):
        await register(producer, settings, patient_id, [ended, secondary, primary])

        resp = await client.post("/v1/claims", json=make_bare_claim(patient_id), headers=read_write())
        assert resp.status_code == 201, resp.text
        data = resp.json()["data"]
        assert (data["payer_id"], data["coverage_order"], data["relationship_code"]) == (
            "SBX002",
            "primary",
            "18",
        )
        sub = data["subscriber"]
        assert (sub["member_id"], sub["group_number"], sub["last_name"], sub["gender"]) == (
            "NEWMEM1",
            "GRP100",
            "Rivera",
            "F",
        )
        assert sub["address"]["postal_code"] == "62701"
        assert [(o["payer_id"], o["member_id"], o["order"]) for o in data["other_coverages"]] == [
            ("SBX001", "SECMEM1", "secondary")
        ]
        preview = (
            await client.get(f"/v1/claims/{resp.json()['id']}/837?preview=true", headers=read_write())
        ).text
        assert "NM1*IL*1*RIVERA*JANE****MI*NEWMEM1~" in preview  # 2010BA NM109

        # The order asked for: the secondary in force.
        asked = make_bare_claim(patient_id, coverage_order="secondary")
        resp = await client.post("/v1/claims", json=asked, headers=read_write())
        assert resp.status_code == 201, resp.text
        assert (resp.json()["data"]["payer_id"], resp.json()["data"]["subscriber"]["member_id"]) == (
            "SBX001",
            "SECMEM1",
        )

        # A date of service before the new primary began bills the coverage in force then.
        earlier = make_bare_claim(patient_id)
        for line in earlier["lines"]:
            line["date_of_service"] = (DOS - timedelta(days=5)).isoformat()
        resp = await client.post("/v1/claims", json=earlier, headers=read_write())
        assert resp.status_code == 201, resp.text
        assert (resp.json()["data"]["payer_id"], resp.json()["data"]["subscriber"]["member_id"]) == (
            "SBX001",
            "OLDMEM1",
        )


async def test_what_the_request_sends_wins_and_without_a_copy_the_field_is_named(claims, settings, producer):
    patient_id = unique("pat")
    async with claims() as (_, client):
        await register(producer, settings, patient_id, [make_coverage("SBX002", "NEWMEM2")])
        explicit = make_claim(patient_id)  # SBX001, member SBX10001, Jane Doe
        resp = await client.post("/v1/claims", json=explicit, headers=read_write())
        assert resp.status_code == 201, resp.text
        data = resp.json()["data"]
        assert (data["payer_id"], data["subscriber"]["member_id"], data["subscriber"]["last_name"]) == (
            "SBX001",
            "SBX10001",
            "Doe",
        )
        assert data["other_coverages"] == []

        # No coverage in force on file with the payer named: nothing is invented.
        named = {**make_bare_claim(patient_id), "payer_id": "SBX001"}
        resp = await client.post("/v1/claims", json=named, headers=read_write())
        assert resp.status_code == 422, resp.text
        assert [(e["field"], e["rule"]) for e in resp.json()["errors"]] == [("body.subscriber", "missing")]

        # A coverage on file the claim cannot carry (X12 1069 "G8", other relationship, which the
        # registry takes and claims' relationship_code, digits only, does not): named, not a 500.
        other = unique("pat")
        holder = make_patient_updated(other, 1).patient
        await register(
            producer,
            settings,
            other,
            [make_coverage("SBX002", "G8MEM1", relationship_code="G8", subscriber=holder)],
        )
        resp = await client.post("/v1/claims", json=make_bare_claim(other), headers=read_write())
        assert resp.status_code == 422, resp.text
        assert [(e["field"], e["rule"]) for e in resp.json()["errors"]] == [
            ("body.subscriber", "registry_coverage")
        ]
        assert "G8MEM1" not in resp.text

        # A patient the registry has never sent: the request must carry the payer.
        stranger = unique("pat")
        resp = await client.post("/v1/claims", json=make_bare_claim(stranger), headers=read_write())
        assert resp.status_code == 422, resp.text
        problem = resp.json()
        assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("body.payer_id", "missing")]
        assert stranger not in resp.text
        assert await get_claims(client, patient_id=stranger) == []


async def test_an_encounter_without_coverages_takes_them_from_the_copy(claims, settings, producer):
    patient_id, encounter_id = unique("pat"), unique("enc")
    async with claims() as (_, client):
        await register(
            producer, settings, patient_id, [make_coverage("SBX002", "ENCMEM1")], last_name="Okafor"
        )
        await publish(
            producer,
            EncounterCompleted(
                encounter_id=encounter_id,
                patient_id=patient_id,
                payer_id="SBX002",
                billing_provider_npi=BILLING_NPI,
                rendering_provider_npi=RENDERING_NPI,
                date_of_service=DOS,
                place_of_service="11",
                diagnoses=["E11.9"],
                lines=[EncounterLine(code="99213", charge=Decimal("125.00"), diagnosis_pointers=[1])],
            ),
        )
        (claim,) = await eventually(lambda: get_claims(client, encounter_id=encounter_id), what="the claim")
        full = (await client.get(f"/v1/claims/{claim['id']}", headers=read_write())).json()
        sub = full["data"]["subscriber"]
        assert (sub["member_id"], sub["last_name"], full["data"]["payer_id"]) == (
            "ENCMEM1",
            "Okafor",
            "SBX002",
        )
        assert not [f for f in full["scrub"]["findings"] if f["field"].startswith("subscriber")]
