"""Claims API on real PostgreSQL and Kafka: create, validate, list, change, scrub, submit."""

from __future__ import annotations

from typing import Any

import pytest
from x12sdk.io import X12ModelReader

from tests.claims.helpers import make_claim, make_eligibility, make_spoiled, read_event
from tests.conftest import connect_as, end_offsets, token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = token("claims:read", "claims:write")


async def count_rows(settings, patient_id: str) -> tuple[int, int]:
    conn = await connect_as("claims", settings)
    try:
        claims = await conn.fetchval("SELECT count(*) FROM claims WHERE patient_id = $1", patient_id)
        history = await conn.fetchval(
            "SELECT count(*) FROM claim_status_history h JOIN claims c ON c.id = h.claim_id "
            "WHERE c.patient_id = $1",
            patient_id,
        )
        return claims, history
    finally:
        await conn.close()


BAD_INPUT = [
    (
        "13th diagnosis",
        lambda b: make_spoiled(b, "diagnoses", [*["E11.9"] * 12, "I10"]),
        "body.diagnoses",
        "too_long",
    ),
    (
        "pointer to a missing diagnosis",
        lambda b: make_spoiled(b, "lines.0.diagnosis_pointers", [1, 3]),
        "body.lines.0.diagnosis_pointers.1",
        "pointer_to_missing_diagnosis",
    ),
    (
        "invalid NPI",
        lambda b: make_spoiled(b, "billing_provider.npi", "1234567890"),
        "body.billing_provider.npi",
        "npi_check_digit",
    ),
    (
        "negative charge",
        lambda b: make_spoiled(b, "lines.1.charge", "-5.00"),
        "body.lines.1.charge",
        "greater_than_equal",
    ),
    ("unknown payer", lambda b: make_spoiled(b, "payer_id", "NOPE01"), "body.payer_id", "unknown_payer"),
    (
        "five modifiers",
        lambda b: make_spoiled(b, "lines.0.modifiers", ["25", "59", "XU", "GA", "GY"]),
        "body.lines.0.modifiers",
        "too_long",
    ),
    (
        "replacement without original number",
        lambda b: make_spoiled(b, "frequency_code", "7"),
        "body.original_payer_claim_control_number",
        "missing",
    ),
]


@pytest.mark.parametrize(("case", "spoil", "field", "rule"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
async def test_bad_input_is_422_naming_the_field_and_nothing_is_written(
    claims, settings, case, spoil, field, rule
):
    patient = unique("pat")
    async with claims(events=False) as (_, client):
        resp = await client.post("/v1/claims", json=spoil(make_claim(patient)), headers=RW)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    errors = resp.json()["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [(field, rule)]
    # No PHI echoed back.
    assert "SBX10001" not in resp.text and "Doe" not in resp.text
    assert await count_rows(settings, patient) == (0, 0)


async def test_create_get_patch_with_history_and_who_changed_it(claims):
    patient = unique("pat")
    async with claims(events=False) as (_, client):
        created = await client.post("/v1/claims", json=make_claim(patient), headers=token(subject="alice"))
        assert created.status_code == 201, created.text
        claim = created.json()
        assert claim["status"] == "draft" and claim["total_charge"] == "175.00"
        assert len(claim["patient_control_number"]) <= 17
        assert created.headers["location"] == f"/v1/claims/{claim['id']}"

        patched = await client.patch(
            f"/v1/claims/{claim['id']}",
            json={"place_of_service": "22", "prior_authorization_number": "A-1"},
            headers=token(subject="bob"),
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["data"]["place_of_service"] == "22"

        bad_patch = await client.patch(
            f"/v1/claims/{claim['id']}", json={"diagnoses": ["E11.9"]}, headers=RW
        )  # line 0 points at diagnosis 2
        assert bad_patch.status_code == 422
        assert bad_patch.json()["errors"][0]["field"] == "body.lines.0.diagnosis_pointers.1"

        got = (await client.get(f"/v1/claims/{claim['id']}", headers=RW)).json()
        assert got["data"]["diagnoses"] == ["E11.9", "I10"]  # the refused patch changed nothing
        history = [(h["from_status"], h["to_status"], h["actor"]) for h in got["history"]]
        assert history == [(None, "draft", "alice"), ("draft", "draft", "bob")]
        assert "place_of_service" in got["history"][1]["reason"]
        assert all(h["changed_at"] for h in got["history"])

        missing = await client.get("/v1/claims/00000000-0000-0000-0000-000000000000", headers=RW)
        assert missing.status_code == 404

        audit = (
            await client.get("/v1/audit", params={"patient_id": patient}, headers=token("ops:read"))
        ).json()
        assert {("create", "alice"), ("update", "bob")} <= {(a["action"], a["actor"]) for a in audit}


async def test_list_filters_and_cursor_pagination(claims):
    patient = unique("pat")
    async with claims(events=False) as (_, client):
        ids = []
        for i in range(5):
            body = make_claim(patient, payer_id="SBX002" if i % 2 else "SBX001")
            ids.append((await client.post("/v1/claims", json=body, headers=RW)).json()["id"])
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"patient_id": patient, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/claims", params=params, headers=RW)).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == list(reversed(ids))  # newest first, each once
        sbx2 = (
            await client.get("/v1/claims", params={"patient_id": patient, "payer_id": "SBX002"}, headers=RW)
        ).json()
        assert {c["id"] for c in sbx2["items"]} == {ids[1], ids[3]}
        drafts = await client.get(
            "/v1/claims", params={"patient_id": patient, "status": ["draft"], "max_age_days": 1}, headers=RW
        )
        assert len(drafts.json()["items"]) == 5
        none = await client.get("/v1/claims", params={"patient_id": patient, "min_age_days": 1}, headers=RW)
        assert none.json()["items"] == []
        bad = await client.get("/v1/claims", params={"cursor": "not-a-cursor"}, headers=RW)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


async def test_submit_refuses_error_edits_with_409_then_sends_the_837p(claims, settings, servers):
    patient = unique("pat")
    body = make_claim(patient)
    start = await end_offsets(servers.kafka_bootstrap, "claim.submitted")
    async with claims(events=False) as (_, client):
        claim = (
            await client.post("/v1/claims", json=make_spoiled(body, "place_of_service", "98"), headers=RW)
        ).json()
        scrub = (await client.post(f"/v1/claims/{claim['id']}/scrub", headers=RW)).json()
        assert scrub["clean"] is False
        assert {f["edit"] for f in scrub["findings"]} == {"place_of_service", "coverage_not_verified"}

        refused = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"
        assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [
            ("body.place_of_service", "place_of_service")
        ]
        assert (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).status_code == 404
        preview = await client.get(f"/v1/claims/{claim['id']}/837", params={"preview": True}, headers=RW)
        assert (
            preview.status_code == 200 and "CLM*" + claim["patient_control_number"] + "*175*" in preview.text
        )

        await make_eligibility(settings, patient, body["payer_id"], body["lines"][0]["date_of_service"])
        fixed = await client.patch(f"/v1/claims/{claim['id']}", json={"place_of_service": "11"}, headers=RW)
        assert fixed.status_code == 200
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] == "submitted"
        again = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert again.status_code == 409

        edi = await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)
        assert edi.status_code == 200 and edi.headers["content-type"].startswith("application/edi-x12")
        with X12ModelReader(edi.text) as reader:
            (model,) = list(reader.models())
        clm = model.loop_2000a[0].loop_2000b[0].loop_2300[0]
        assert clm.clm_segment.patient_control_number == claim["patient_control_number"]
        assert str(clm.clm_segment.total_claim_charge_amount) == "175"

        history = [
            h["to_status"]
            for h in (await client.get(f"/v1/claims/{claim['id']}", headers=RW)).json()["history"]
        ]
        assert history == ["draft", "draft", "ready", "submitted"]

        event = await read_event(servers.kafka_bootstrap, "claim.submitted", start, claim["id"])
    assert event["patient_control_number"] == claim["patient_control_number"]
    assert event["account_id"] == patient and event["coverage_order"] == "primary"
    assert event["date_of_service"] == body["lines"][0]["date_of_service"]
    assert [(line["code"], line["charge"]) for line in event["lines"]] == [
        ("99213", "125.00"),
        ("93000", "50.00"),
    ]
    assert event["x12_837"] == edi.text


async def test_scopes_are_enforced(claims):
    async with claims(events=False) as (_, client):
        assert (await client.post("/v1/claims", json=make_claim())).status_code == 401
        assert (
            await client.post("/v1/claims", json=make_claim(), headers=token("claims:read"))
        ).status_code == 403
