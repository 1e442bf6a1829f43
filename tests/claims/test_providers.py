"""The practice's provider registry and the billing and rendering provider on every claim.

What the 837P (005010X222A1) requires of them:
- loop 2010AA billing provider: NM1*85 with the organization's name (NM102 2) or a person's last
  and first name (NM102 1, NM104); N3 a street address (no post office box: that goes in the
  pay-to loop 2010AB); N4 with the full nine-digit ZIP code; REF*EI (EIN) or REF*SY (SSN), the
  tax id; 2000A PRV*BI*PXC when the payer adjudicates by taxonomy;
- loop 2310B rendering provider, when it is not the billing provider: NM1*82 with a person's last
  and first name (NM102 1) or an organization's name (NM102 2); PRV*PE*PXC when the payer
  adjudicates by taxonomy.

A claim made from an EHR's encounter.completed carries only NPIs: the rest comes from the
registry the practice keeps through `/v1/providers`. The scrubber holds a claim that lacks
any of it, so no 837P leaves that a payer must reject.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from deploy.payer_sandbox import ehr, practice
from services.claims.claims.schemas import ClaimData
from services.claims.scrubbing import domain as scrubber
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from shared import x12
from shared.events import new_event
from shared.events.catalogue import Coverage, EncounterCompleted, EncounterLine, Person
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import (
    TEST_EHR_SOURCE,
    get_claim,
    get_claims,
    make_claim,
    make_eligibility,
    make_npi,
    make_provider,
    make_recent_date,
    make_spoiled,
    publish,
    put_provider,
)
from tests.conftest import connect_as, eventually, token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = token("claims:read", "claims:write")


def make_encounter(patient_id: str, billing_npi: str, rendering_npi: str, dos: str) -> EncounterCompleted:
    """A visit as the EHR sends it: NPIs only, no provider names, addresses or tax ids."""
    return EncounterCompleted(
        encounter_id=unique("enc"),
        patient_id=patient_id,
        payer_id="SBX001",
        billing_provider_npi=billing_npi,
        rendering_provider_npi=rendering_npi,
        date_of_service=date.fromisoformat(dos),
        place_of_service="11",
        diagnoses=["E11.9"],
        lines=[EncounterLine(code="99213", charge=Decimal("125.00"), diagnosis_pointers=[1])],
        patient=Person(
            first_name="Ann",
            last_name="Lee",
            birth_date=date(1970, 3, 4),
            gender="F",
            address={"line1": "9 Elm St", "city": "Salem", "state": "OR", "postal_code": "97301"},
        ),
        coverages=[Coverage(payer_id="SBX001", member_id="SBX10001", order="primary")],
    )


def segments(text: str) -> list[x12.Segment]:
    return list(x12.parse(text, expect="837").transactions[0].segments)


def provider_segments(text: str) -> dict[str, list[str]]:
    """The billing provider's and rendering provider's segments, as '*'-joined strings."""
    segs = segments(text)
    out: dict[str, list[str]] = {"2000A": [], "2310B": []}
    loop = None
    for s in segs:
        if s.id == "HL":
            loop = "2000A" if s.get(3) == "20" else None
        elif s.id == "NM1" and s.get(1) == "82":
            loop = "2310B"
        elif s.id in ("LX", "SBR", "CLM") or (s.id == "NM1" and s.get(1) not in ("85", "82")):
            loop = None
        if loop:
            out[loop].append("*".join([s.id, *s.elements]).rstrip("*"))
    return out


async def encounter_claim(client: Any, visit: EncounterCompleted) -> dict[str, Any]:
    """The claim the encounter became (scrubbed, and sent when clean, in the same transaction)."""
    (claim,) = await eventually(lambda: get_claims(client, encounter_id=visit.encounter_id), timeout=30)
    return await get_claim(client, claim["id"])


async def test_encounter_claim_takes_its_providers_from_the_registry_and_its_837p_is_valid(
    claims, settings, producer
):
    billing, rendering, patient, dos = make_npi(), make_npi(), unique("pat"), make_recent_date()
    async with claims() as (_, client):
        registered = [
            await put_provider(client, make_provider(billing)),
            await put_provider(client, make_provider(rendering, "person")),
        ]
        await make_eligibility(settings, patient, "SBX001", dos)
        visit = make_encounter(patient, billing, rendering, dos)
        await publish(producer, visit)
        claim = await encounter_claim(client, visit)
        assert claim["status"] == "submitted", claim["scrub"]
        text = (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).text
    assert x12_837_errors(text) == []
    loops = provider_segments(text)
    assert loops["2000A"][1:] == [
        "PRV*BI*PXC*207Q00000X",
        f"NM1*85*2*SPRINGFIELD FAMILY CLINIC*****XX*{billing}",
        "N3*2 OAK AVE",
        "N4*SPRINGFIELD*IL*627011234",
        "REF*EI*123456789",
    ]
    assert loops["2310B"] == [f"NM1*82*1*SMITH*ANN****XX*{rendering}", "PRV*PE*PXC*207Q00000X"]
    assert claim["data"]["billing_provider"]["name"] == "Springfield Family Clinic"
    assert [r.status_code for r in registered] == [201, 201]


async def test_encounter_whose_providers_are_not_registered_is_held_until_the_registry_has_them(
    claims, settings, producer
):
    billing, rendering, patient, dos = make_npi(), make_npi(), unique("pat"), make_recent_date()
    async with claims() as (_, client):
        await make_eligibility(settings, patient, "SBX001", dos)
        visit = make_encounter(patient, billing, rendering, dos)
        await publish(producer, visit)
        claim = await encounter_claim(client, visit)
        assert (claim["status"], claim["scrub"]["clean"]) == ("draft", False)
        assert (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).status_code == 404
        held = {f["field"]: f for f in claim["scrub"]["findings"] if f["edit"] == "provider_data"}
        assert set(held) >= {
            "billing_provider.name",
            "billing_provider.address",
            "billing_provider.tax_id",
            "rendering_provider.name",
            "rendering_provider.first_name",
        }
        assert {f["severity"] for f in held.values()} == {"error"}
        assert "2010AA" in held["billing_provider.address"]["message"]
        assert "BILLING PROVIDER" not in str(claim["data"])

        # The practice registers both; the held claim takes them by NPI and goes out.
        assert (await put_provider(client, make_provider(billing))).status_code == 201
        assert (await put_provider(client, make_provider(rendering, "person"))).status_code == 201
        patch = {"billing_provider": {"npi": billing}, "rendering_provider": {"npi": rendering}}
        fixed = await client.patch(f"/v1/claims/{claim['id']}", json=patch, headers=RW)
        assert fixed.json()["data"]["billing_provider"]["tax_id"] == "123456789", fixed.text
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert sent.status_code == 200, sent.text
        assert x12_837_errors(await _837(client, claim)) == []


async def _837(client: Any, claim: dict[str, Any]) -> str:
    return (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).text


async def test_rest_claim_with_only_npis_takes_the_rest_from_the_registry(claims, settings):
    billing, rendering = make_npi(), make_npi()
    async with claims(events=False) as (_, client):
        await put_provider(client, make_provider(billing))
        await put_provider(client, make_provider(rendering, "person"))
        body = make_claim(
            billing_provider={"npi": billing},
            # What the caller says wins over the registry, field by field.
            rendering_provider={"npi": rendering, "taxonomy": "207R00000X"},
        )
        created = await client.post("/v1/claims", json=body, headers=RW)
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        assert data["billing_provider"] == {
            "npi": billing,
            "entity_type": "organization",
            "name": "Springfield Family Clinic",
            "first_name": None,
            "taxonomy": "207Q00000X",
            "tax_id": "123456789",
            "tax_id_type": "EI",
            "address": {
                "line1": "2 Oak Ave",
                "line2": None,
                "city": "Springfield",
                "state": "IL",
                "postal_code": "627011234",
            },
        }
        assert (data["rendering_provider"]["first_name"], data["rendering_provider"]["taxonomy"]) == (
            "Ann",
            "207R00000X",
        )
        await make_eligibility(settings, body["patient_id"], "SBX001", body["lines"][0]["date_of_service"])
        sent = await client.post(f"/v1/claims/{created.json()['id']}/submit", headers=RW)
        assert sent.status_code == 200, sent.text
        assert x12_837_errors(await _837(client, sent.json())) == []


async def test_registry_crud_is_audited_and_scoped(claims, settings):
    npi, other = make_npi(), make_npi()
    reader = token("claims:read")
    async with claims(events=False) as (_, client):
        created = await put_provider(client, make_provider(npi))
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"/v1/providers/{npi}"
        replaced = await put_provider(client, make_provider(npi, name="Springfield Clinic LLC"))
        assert (replaced.status_code, replaced.json()["name"]) == (200, "Springfield Clinic LLC")
        posted = await client.post("/v1/providers", json=make_provider(other, "person"), headers=RW)
        assert posted.status_code == 201, posted.text
        again = await client.post("/v1/providers", json=make_provider(other, "person"), headers=RW)
        assert again.status_code == 409
        patched = await client.patch(f"/v1/providers/{other}", json={"taxonomy": "207R00000X"}, headers=RW)
        assert (patched.status_code, patched.json()["taxonomy"], patched.json()["first_name"]) == (
            200,
            "207R00000X",
            "Ann",
        )
        one = await client.get(f"/v1/providers/{npi}", headers=reader)
        assert (one.status_code, one.json()["roles"]) == (200, ["billing"])
        renderers = (await client.get("/v1/providers", params={"role": "rendering"}, headers=reader)).json()
        npis = [p["npi"] for p in renderers["items"]]
        assert other in npis and npi not in npis
        refused = await client.put(f"/v1/providers/{npi}", json=make_provider(npi), headers=reader)
        assert refused.status_code == 403
        assert (await client.delete(f"/v1/providers/{other}", headers=RW)).status_code == 204
        assert (await client.get(f"/v1/providers/{other}", headers=reader)).status_code == 404
    conn = await connect_as("claims", settings)
    try:
        rows = await conn.fetch(
            "SELECT action, outcome, actor FROM audit_log WHERE resource_type = 'provider' "
            "AND resource_id = $1 ORDER BY id",
            other,
        )
    finally:
        await conn.close()
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("create", "success"),
        ("create", "rejected"),
        ("update", "success"),
        ("delete", "success"),
    ]
    assert {r["actor"] for r in rows} == {"test-user"}


PO_BOX = {"line1": "PO Box 12", "city": "Springfield", "state": "IL", "postal_code": "627011234"}
BAD_RECORDS: list[tuple[str, Callable[[str], dict[str, Any]], str, str]] = [
    (
        "NPI check digit",
        lambda n: make_provider(n[:9] + str((int(n[9]) + 1) % 10)),
        "body.npi",
        "npi_check_digit",
    ),
    ("billing without address", lambda n: make_provider(n, address=None), "body.address", "missing"),
    (
        "billing ZIP without +4",
        lambda n: make_provider(n, address={**make_provider(n)["address"], "postal_code": "62701"}),
        "body.address.postal_code",
        "zip_plus_4",
    ),
    (
        "billing at a PO box",
        lambda n: make_provider(n, address=PO_BOX),
        "body.address.line1",
        "street_address",
    ),
    ("billing without tax id", lambda n: make_provider(n, tax_id=None), "body.tax_id", "missing"),
    (
        "person without first name",
        lambda n: make_provider(n, "person", first_name=None),
        "body.first_name",
        "missing",
    ),
    (
        "organization with a first name",
        lambda n: make_provider(n, first_name="Ann"),
        "body.first_name",
        "organization_has_no_first_name",
    ),
    (
        "organization with an SSN",
        lambda n: make_provider(n, tax_id_type="SY"),
        "body.tax_id_type",
        "ssn_is_a_person",
    ),
]


@pytest.mark.parametrize(("case", "spoil", "field", "rule"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
async def test_a_record_the_837p_cannot_use_is_422_naming_the_field(claims, case, spoil, field, rule):
    npi = make_npi()
    async with claims(events=False) as (_, client):
        body = spoil(npi)
        resp = await client.put(f"/v1/providers/{body['npi']}", json=body, headers=RW)
        assert resp.status_code == 422, resp.text
        assert {(e["field"], e["rule"]) for e in resp.json()["errors"]} == {(field, rule)}
        assert (await client.get(f"/v1/providers/{npi}", headers=RW)).status_code == 404


def held(body: dict[str, Any]) -> set[str]:
    """The fields the scrubber's provider edit names on this claim content."""
    ctx = scrubber.ScrubContext(today=date.today())
    return {f.field for f in scrubber.scrub(ClaimData.model_validate(body), ctx) if f.edit == "provider_data"}


SCRUB_CASES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], set[str]]] = [
    ("complete", lambda b: b, set()),
    (
        "no billing name (2010AA NM103)",
        lambda b: make_spoiled(b, "billing_provider.name", None),
        {"billing_provider.name"},
    ),
    (
        "no billing address (2010AA N3, N4)",
        lambda b: make_spoiled(b, "billing_provider.address", None),
        {"billing_provider.address"},
    ),
    (
        "billing ZIP without +4 (2010AA N403)",
        lambda b: make_spoiled(b, "billing_provider.address.postal_code", "62701"),
        {"billing_provider.address.postal_code"},
    ),
    (
        "billing at a PO box (2010AA N301)",
        lambda b: make_spoiled(b, "billing_provider.address.line1", "P.O. Box 12"),
        {"billing_provider.address.line1"},
    ),
    (
        "no tax id (2010AA REF*EI/SY)",
        lambda b: make_spoiled(b, "billing_provider.tax_id", None),
        {"billing_provider.tax_id"},
    ),
    (
        "billing person without first name (2010AA NM104)",
        lambda b: make_spoiled(b, "billing_provider.entity_type", "person"),
        {"billing_provider.first_name"},
    ),
    (
        "no billing taxonomy for a payer that adjudicates by it (2000A PRV*BI)",
        lambda b: make_spoiled(b, "billing_provider.taxonomy", None),
        {"billing_provider.taxonomy"},
    ),
    (
        "no billing taxonomy for a payer that does not",
        lambda b: make_spoiled(make_spoiled(b, "billing_provider.taxonomy", None), "payer_id", "SBX002"),
        set(),
    ),
    (
        "rendering person without first name (2310B NM104)",
        lambda b: make_spoiled(b, "rendering_provider.first_name", None),
        {"rendering_provider.first_name"},
    ),
    (
        "rendering without name (2310B NM103)",
        lambda b: make_spoiled(b, "rendering_provider.name", None),
        {"rendering_provider.name"},
    ),
    (
        "rendering organization needs no first name",
        lambda b: make_spoiled(
            make_spoiled(b, "rendering_provider.first_name", None),
            "rendering_provider.entity_type",
            "organization",
        ),
        set(),
    ),
    (
        "rendering is the billing provider (no 2310B)",
        lambda b: make_spoiled(b, "rendering_provider", {"npi": b["billing_provider"]["npi"]}),
        set(),
    ),
]


@pytest.mark.parametrize(("case", "spoil", "fields"), SCRUB_CASES, ids=[c[0] for c in SCRUB_CASES])
def test_scrubber_holds_a_claim_missing_what_the_837p_requires_of_its_providers(case, spoil, fields):
    assert held(spoil(make_claim())) == fields


def test_a_person_billing_with_an_ssn_and_an_organization_rendering_are_valid_837p():
    body = make_claim()
    body["billing_provider"] = make_provider(
        body["billing_provider"]["npi"],
        entity_type="person",
        name="Jones",
        first_name="Pat",
        tax_id_type="SY",
    )
    del body["billing_provider"]["roles"]
    body["rendering_provider"] = {
        "npi": body["rendering_provider"]["npi"],
        "entity_type": "organization",
        "name": "Lab Group",
        "taxonomy": "291U00000X",
    }
    assert held(body) == set()
    text = generate(
        ClaimData.model_validate(body), "C1234567890ABCDEF", control_number=7002, settings=ClaimsSettings()
    )
    assert x12_837_errors(text) == []
    loops = provider_segments(text)
    npi, rnpi = body["billing_provider"]["npi"], body["rendering_provider"]["npi"]
    assert f"NM1*85*1*JONES*PAT****XX*{npi}" in loops["2000A"] and "REF*SY*123456789" in loops["2000A"]
    assert loops["2310B"] == [f"NM1*82*2*LAB GROUP*****XX*{rnpi}", "PRV*PE*PXC*291U00000X"]


async def test_the_sandbox_practice_registers_every_npi_its_ehr_sends_and_their_claims_make_valid_837p(
    claims,
):
    """What `make up` and `make demo` do before the sandbox EHR's clinic day: the practice's
    providers go into the registry through the API, and the claims of the EHR's encounters
    then lack nothing the 837P needs of their providers."""
    from services.claims.submission.events import on_encounters_completed

    visits = list(ehr.encounters(7, 20, run_id=unique("practice")))
    sent = {npi for v in visits for npi in (v.billing_provider_npi, v.rendering_provider_npi)}
    assert sent <= {record["npi"] for record in practice.REGISTRY}
    async with claims(events=False) as (app, client):
        statuses = await practice.register("http://claims", transport=httpx.ASGITransport(app=app))
        assert set(statuses) <= {200, 201} and len(statuses) == len(practice.REGISTRY)
        async with app.state.db.session() as session, session.begin():
            await on_encounters_completed(session, [new_event(v, source=TEST_EHR_SOURCE) for v in visits])
        for visit in visits:
            (listed,) = await get_claims(client, encounter_id=visit.encounter_id)
            claim = await get_claim(client, listed["id"])
            assert [f for f in claim["scrub"]["findings"] if f["edit"] == "provider_data"] == []
            preview = await client.get(
                f"/v1/claims/{claim['id']}/837", params={"preview": "true"}, headers=RW
            )
            assert x12_837_errors(preview.text) == [], visit.encounter_id


async def test_a_patch_whose_merged_record_breaks_the_schema_is_422_naming_the_field(claims):
    """Found by the fuzzing run: a patch valid on its own (person, with its names set to null)
    whose merge with the stored record breaks the record's own schema answered 500."""
    npi = make_npi()
    async with claims(events=False) as (_, client):
        assert (await put_provider(client, make_provider(npi, "person"))).status_code == 201
        patch = {"name": None, "first_name": None, "entity_type": "person", "roles": ["billing", "rendering"]}
        answer = await client.patch(f"/v1/providers/{npi}", json=patch, headers=RW)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert all(e["field"].startswith("body.") for e in answer.json()["errors"])
        stored = (await client.get(f"/v1/providers/{npi}", headers=RW)).json()
        assert stored["first_name"] == "Ann"  # nothing half-written
