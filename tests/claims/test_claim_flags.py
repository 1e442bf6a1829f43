"""A coverage change flags the open claims it affects (issue 19): coverage.updated's `changes`
on the real broker, the flags listed per claim and as a paged, audited work list, and
resolved or dismissed by staff with a note.

- member_id_corrected: the patient's open claims (not paid, closed, voided or replaced) with
  that payer, billed with another member id, suggest a corrected claim (frequency 7);
- terminated with `retroactive`: those dated after the termination suggest billing the
  coverage in force on their date of service now, named."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.events.frontoffice import CoverageChange
from tests.claims.helpers import (
    get_claim_if,
    get_flags,
    handled,
    make_coverage,
    make_coverage_updated,
    make_eligibility,
    make_insurer_payment,
    make_recent_date,
    publish,
    read_write,
)
from tests.claims.test_claims_from_registry import make_bare_claim, register
from tests.conftest import connect_as, eventually, token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "practice_providers")
DOS = date.fromisoformat(make_recent_date())
RW = read_write()


def dated(body: dict, day: date) -> dict:
    """The claim's lines on `day` (claims of one patient on different days are not duplicates)."""
    for line in body["lines"]:
        line["date_of_service"] = day.isoformat()
    return body


async def post_claim(client, body, *, submit: bool = False, settings=None) -> dict:
    resp = await client.post("/v1/claims", json=body, headers=RW)
    assert resp.status_code == 201, resp.text
    claim = resp.json()
    if submit:
        await make_eligibility(settings, claim["patient_id"], claim["payer_id"], claim["date_of_service"])
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert sent.status_code == 200, sent.text
        claim = sent.json()
    return claim


async def test_a_corrected_member_id_flags_the_open_claims_billed_with_the_old_one(
    claims, settings, producer
):
    patient_id = unique("pat")
    coverage = make_coverage("SBX001", "OLDMEM9")
    async with claims() as (_, client):
        await register(
            producer, settings, patient_id, [coverage, make_coverage("SBX002", "SEC9", order="secondary")]
        )
        sent = await post_claim(client, make_bare_claim(patient_id), submit=True, settings=settings)
        draft = await post_claim(client, dated(make_bare_claim(patient_id), DOS - timedelta(days=1)))
        paid_body = dated(make_bare_claim(patient_id), DOS - timedelta(days=2))
        paid = await post_claim(client, paid_body, submit=True, settings=settings)
        await publish(producer, make_insurer_payment(paid, paid="175.00"))
        await eventually(lambda: get_claim_if(client, paid["id"], "paid"), what="the claim paid")
        other_payer = await post_claim(client, make_bare_claim(patient_id, coverage_order="secondary"))
        assert other_payer["payer_id"] == "SBX002"

        corrected = coverage.model_copy(update={"member_id": "NEWMEM9"})
        change = CoverageChange(
            coverage_id=coverage.coverage_id, payer_id="SBX001", kind="member_id_corrected"
        )
        event_id = await publish(
            producer,
            make_coverage_updated(
                patient_id, 3, [corrected, make_coverage("SBX002", "SEC9", order="secondary")], [change]
            ),
        )
        await eventually(lambda: handled(settings, [event_id]), what="coverage.updated handled")

        (flag,) = await get_flags(client, sent["id"])
        assert (flag["kind"], flag["status"], flag["payer_id"], flag["revision"]) == (
            "member_id_corrected",
            "open",
            "SBX001",
            3,
        )
        assert flag["suggested_action"] == "Submit a corrected claim (frequency 7) with the new member id."
        assert "NEWMEM9" not in str(flag) and "OLDMEM9" not in str(flag)  # no member ids in the flag
        (unsent,) = await get_flags(client, draft["id"])
        assert unsent["suggested_action"].startswith("Correct the member id on the claim")
        assert await get_flags(client, paid["id"]) == []
        assert await get_flags(client, other_payer["id"]) == []

        # The work list: open flags, newest first, paged; this test's two are the newest open ones.
        page = (await client.get("/v1/claim-flags", params={"status": "open", "limit": 1}, headers=RW)).json()
        cursor = {"cursor": page["next_cursor"]}
        second = await client.get(
            "/v1/claim-flags", params={"status": "open", "limit": 1, **cursor}, headers=RW
        )
        assert {page["items"][0]["id"], second.json()["items"][0]["id"]} == {flag["id"], unsent["id"]}
        refused = await client.get("/v1/claim-flags", headers=token("claims:write"))
        assert refused.status_code == 403

        # Staff dismiss one with a note; a closed flag cannot be resolved again; a retroactive
        # termination is not resolved by a correction.
        body = {"outcome": "dismissed", "note": "draft fixed by hand"}
        resp = await client.post(f"/v1/claim-flags/{unsent['id']}/resolve", json=body, headers=RW)
        assert resp.status_code == 200, resp.text
        assert (resp.json()["status"], resp.json()["note"], resp.json()["resolved_by"]) == (
            "dismissed",
            "draft fixed by hand",
            "test-user",
        )
        again = await client.post(f"/v1/claim-flags/{unsent['id']}/resolve", json=body, headers=RW)
        assert (again.status_code, again.json()["type"].rsplit("/", 1)[-1]) == (409, "flag-closed")
        missing_note = await client.post(
            f"/v1/claim-flags/{flag['id']}/resolve", json={"outcome": "resolved"}, headers=RW
        )
        assert missing_note.status_code == 422
        assert [e["field"] for e in missing_note.json()["errors"]] == ["body.note"]

        # A second coverage.updated with the same correction keeps one open flag per claim and kind.
        again_id = await publish(
            producer,
            make_coverage_updated(
                patient_id, 4, [corrected.model_copy(update={"member_id": "NEWER9"})], [change]
            ),
        )
        await eventually(lambda: handled(settings, [again_id]), what="the second coverage.updated handled")
        assert [f["id"] for f in await get_flags(client, sent["id"])] == [flag["id"]]

    conn = await connect_as("claims", settings)
    try:
        audited = await conn.fetch(
            "SELECT action, outcome FROM audit_log "
            "WHERE resource_type = 'claim_flag' AND $1 = ANY(patient_ids)",
            patient_id,
        )
    finally:
        await conn.close()
    assert {(r["action"], r["outcome"]) for r in audited} >= {
        ("list", "success"),
        ("resolve", "success"),
        ("resolve", "rejected"),
    }


async def test_a_retroactive_termination_suggests_billing_the_payer_now_in_force(claims, settings, producer):
    patient_id = unique("pat")
    ended_on = DOS - timedelta(days=2)
    old = make_coverage("SBX001", "OLDMEM8")
    async with claims() as (_, client):
        await register(producer, settings, patient_id, [old])
        after = await post_claim(client, make_bare_claim(patient_id), submit=True, settings=settings)
        before = await post_claim(client, dated(make_bare_claim(patient_id), ended_on - timedelta(days=5)))
        assert (after["payer_id"], before["payer_id"]) == ("SBX001", "SBX001")

        new = make_coverage("SBX002", "MEDMEM8", effective_date=ended_on + timedelta(days=1))
        changes = [
            CoverageChange(
                coverage_id=old.coverage_id,
                payer_id="SBX001",
                kind="terminated",
                retroactive=True,
                termination_date=ended_on,
            ),
            CoverageChange(coverage_id=new.coverage_id, payer_id="SBX002", kind="added"),
        ]
        terminated = old.model_copy(update={"termination_date": ended_on})
        event_id = await publish(producer, make_coverage_updated(patient_id, 3, [terminated, new], changes))
        await eventually(lambda: handled(settings, [event_id]), what="coverage.updated handled")

        (flag,) = await get_flags(client, after["id"])
        assert (flag["kind"], flag["suggested_payer_id"]) == ("retroactive_termination", "SBX002")
        assert flag["suggested_action"].startswith("Bill the new payer: SBX002 (primary coverage")
        assert await get_flags(client, before["id"]) == []  # its date of service was still covered
        resp = await client.post(
            f"/v1/claim-flags/{flag['id']}/resolve", json={"outcome": "corrected", "note": "x"}, headers=RW
        )
        assert resp.status_code == 422
        assert [(e["field"], e["rule"]) for e in resp.json()["errors"]] == [
            ("body.outcome", "not_a_member_id_flag")
        ]
        listed = await client.get(
            "/v1/claim-flags",
            params={"status": "open", "kind": "retroactive_termination", "payer_id": "SBX001"},
            headers=RW,
        )
        assert flag["id"] in [f["id"] for f in listed.json()["items"]]
