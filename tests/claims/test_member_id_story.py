"""Must-show story "Member id" (issue 19): a member id is corrected, the open claim is flagged,
and a corrected claim (frequency 7) goes out with the new id.

The front office publishes the patient and their coverage; a claim is created with only the
patient id (the coverage comes from claims' copy) and submitted; the payer numbers it (a 277CA
acceptance); a coverage.updated corrects the member id, which flags the open claim; the
corrected claim is sent, and its 837P is read back with pyx12 (its 005010X222A1 map gives
each segment its loop):

- loop 2300 CLM05-3 (claim frequency type code) = 7, replacement of a prior claim;
- loop 2300 REF*F8 (payer claim control number) REF02 = the payer's number of the original;
- loop 2010BA NM1*IL (subscriber name) NM108 = MI, NM109 = the member id, now the new one.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from pyx12 import error_handler, params, x12context

from shared.events.catalogue import ClaimAcknowledged
from shared.events.frontoffice import CoverageChange
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import (
    get_claim,
    get_claim_if,
    get_claims,
    get_flags,
    make_coverage,
    make_coverage_updated,
    make_eligibility,
    publish,
    read_write,
)
from tests.claims.test_claims_from_registry import make_bare_claim, register
from tests.conftest import eventually, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "practice_providers")
RW = read_write()


def segments_by_loop(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(loop id, segment id, its elements by reference designator) for every segment of an
    837P, as pyx12's 837 map places them. pyx12 ships the map for X222A1; A2 is an errata of
    A1 with the same loops and segments, so the file is relabelled for the read."""
    reader = x12context.X12ContextReader(
        params.params(), error_handler.errh_null(), io.StringIO(text.replace("005010X222A2", "005010X222A1"))
    )
    out = []
    for node in reader.iter_segments():
        loop = node.x12_map_node.parent.id
        seg = node.seg_data
        refs = {
            f"{seg.get_seg_id()}{i:02d}": seg.get_value(f"{seg.get_seg_id()}{i:02d}") for i in range(1, 10)
        }
        refs = {k: v for k, v in refs.items() if v}
        if seg.get_seg_id() == "CLM":
            refs["CLM05-3"] = seg.get_value("CLM05-3")
        out.append((loop, seg.get_seg_id(), refs))
    return out


def subscriber_member_id(text: str) -> str:
    """2010BA NM1*IL NM109 (with NM108 = MI, member identification number)."""
    (nm1,) = [r for loop, seg, r in segments_by_loop(text) if (loop, seg) == ("2010BA", "NM1")]
    assert (nm1["NM101"], nm1["NM108"]) == ("IL", "MI")
    return nm1["NM109"]


async def test_member_id_corrected_flags_the_open_claim_and_the_corrected_claim_carries_the_new_id(
    claims, settings, producer
):
    patient_id, old_id, new_id = unique("pat"), f"OLD{uuid.uuid4().hex[:8]}", f"NEW{uuid.uuid4().hex[:8]}"
    coverage = make_coverage("SBX001", old_id)
    async with claims() as (_, client):
        # The front office registers the patient and the coverage; claims keeps its copy.
        await register(producer, settings, patient_id, [coverage])

        # A claim with only the patient id (no payer, no subscriber), submitted.
        created = await client.post("/v1/claims", json=make_bare_claim(patient_id), headers=RW)
        assert created.status_code == 201, created.text
        claim = created.json()
        await make_eligibility(settings, patient_id, claim["payer_id"], claim["date_of_service"])
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert (sent.status_code, sent.json()["status"]) == (200, "submitted"), sent.text
        first_837 = (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).text
        assert subscriber_member_id(first_837) == old_id

        # The payer accepts it and numbers it (the original's payer claim control number).
        icn = f"ICN{uuid.uuid4().hex[:10].upper()}"
        await publish(
            producer,
            ClaimAcknowledged(
                claim_id=uuid.UUID(claim["id"]),
                patient_control_number=claim["patient_control_number"],
                payer_claim_control_number=icn,
                acknowledged_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "accepted"), what="the claim accepted")

        # The registry corrects the member id: the open claim is flagged.
        corrected = coverage.model_copy(update={"member_id": new_id})
        change = CoverageChange(
            coverage_id=coverage.coverage_id, payer_id="SBX001", kind="member_id_corrected"
        )
        await publish(producer, make_coverage_updated(patient_id, 3, [corrected], [change]))
        (flag,) = await eventually(lambda: get_flags(client, claim["id"]), what="the claim flagged")
        assert (flag["kind"], flag["status"]) == ("member_id_corrected", "open")
        listed = await client.get("/v1/claim-flags", params={"status": "open"}, headers=RW)
        assert flag["id"] in [f["id"] for f in listed.json()["items"]]

        # The corrected claim goes out through the one correction path, with nothing re-typed.
        resp = await client.post(f"/v1/claims/{claim['id']}/corrections", json={}, headers=RW)
        assert resp.status_code == 201, resp.text
        replacement = resp.json()
        assert (replacement["frequency_code"], replacement["status"]) == ("7", "submitted")
        edi = (await client.get(f"/v1/claims/{replacement['id']}/837", headers=RW)).text

        # Sending the correction resolved the flag, naming the replacement, and closed the original.
        (done,) = await get_flags(client, claim["id"])
        assert done["status"] == "resolved"
        assert done["note"] == f"corrected claim {replacement['patient_control_number']} sent"
        assert (await get_claim(client, claim["id"]))["status"] == "closed"

    assert x12_837_errors(edi) == []
    segments = segments_by_loop(edi)
    (clm,) = [r for loop, seg, r in segments if (loop, seg) == ("2300", "CLM")]
    assert clm["CLM01"] == replacement["patient_control_number"] and clm["CLM05-3"] == "7"
    refs = [r for loop, seg, r in segments if (loop, seg) == ("2300", "REF") and r["REF01"] == "F8"]
    assert [r["REF02"] for r in refs] == [icn]
    assert subscriber_member_id(edi) == new_id
    assert old_id not in edi


async def test_resolving_the_flag_as_corrected_sends_the_correction_through_the_same_command(
    claims, settings, producer
):
    """The work list's action: `corrected` on the flag sends the corrected claim (the one
    follow-on command POST /v1/claims/{id}/corrections uses) and that resolves the flag."""
    patient_id, new_id = unique("pat"), f"NEW{uuid.uuid4().hex[:8]}"
    coverage = make_coverage("SBX001", f"OLD{uuid.uuid4().hex[:8]}")
    async with claims() as (_, client):
        await register(producer, settings, patient_id, [coverage])
        claim = (await client.post("/v1/claims", json=make_bare_claim(patient_id), headers=RW)).json()
        await make_eligibility(settings, patient_id, claim["payer_id"], claim["date_of_service"])
        assert (await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)).status_code == 200
        await publish(
            producer,
            ClaimAcknowledged(
                claim_id=uuid.UUID(claim["id"]),
                patient_control_number=claim["patient_control_number"],
                payer_claim_control_number="ICN-FLAG-1",
                acknowledged_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "accepted"), what="the claim accepted")
        change = CoverageChange(
            coverage_id=coverage.coverage_id, payer_id="SBX001", kind="member_id_corrected"
        )
        corrected = coverage.model_copy(update={"member_id": new_id})
        await publish(producer, make_coverage_updated(patient_id, 3, [corrected], [change]))
        (flag,) = await eventually(lambda: get_flags(client, claim["id"]), what="the claim flagged")

        body = {"outcome": "corrected", "note": "payer confirmed the new id"}
        resp = await client.post(f"/v1/claim-flags/{flag['id']}/resolve", json=body, headers=RW)
        assert resp.status_code == 200, resp.text
        (replacement,) = [
            c for c in await get_claims(client, patient_id=patient_id) if c["frequency_code"] == "7"
        ]
        assert (resp.json()["status"], resp.json()["note"]) == (
            "resolved",
            f"corrected claim {replacement['patient_control_number']} sent: payer confirmed the new id",
        )
        edi = (await client.get(f"/v1/claims/{replacement['id']}/837", headers=RW)).text
        assert subscriber_member_id(edi) == new_id
        refs = [
            r
            for loop, seg, r in segments_by_loop(edi)
            if (loop, seg) == ("2300", "REF") and r["REF01"] == "F8"
        ]
        assert [r["REF02"] for r in refs] == ["ICN-FLAG-1"]
        # Done once: the flag is closed, and a second correction of the claim is the 409 naming the first.
        again = await client.post(f"/v1/claim-flags/{flag['id']}/resolve", json=body, headers=RW)
        assert again.status_code == 409
        twice = await client.post(f"/v1/claims/{claim['id']}/corrections", json={}, headers=RW)
        assert (twice.status_code, twice.json()["type"].rsplit("/", 1)[-1]) == (409, "already-followed-on")
