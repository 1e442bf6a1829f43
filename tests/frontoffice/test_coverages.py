"""Coverages in order: added, member id corrected, terminated (retroactive), reordered, each
classified in coverage.updated with the patient's next revision; one coverage per order in
force on any date; termination not before effective; If-Match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import end_offsets, unique
from tests.frontoffice.helpers import (
    WRITE,
    get_history,
    make_coverage,
    make_patient,
    patch_coverage,
    post_coverage,
    post_patient,
    read_events,
)


async def _registered(client: Any, headers: dict[str, str]) -> str:
    body = make_patient()
    assert (await post_patient(client, headers, body)).status_code == 201
    return body["patient_id"]


async def test_add_correct_terminate_classified_on_kafka(frontoffice: Any, auth: Any, settings: Any) -> None:
    headers = auth(*WRITE, subject="clerk-3")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    async with frontoffice() as (_, client):
        start = await end_offsets(settings.kafka_bootstrap_servers, "coverage.updated")
        pid = await _registered(client, headers)
        added = await post_coverage(client, headers, pid, make_coverage())
        assert added.status_code == 201, added.text
        assert added.headers["ETag"] == '"2"'
        coverage = added.json()["coverages"][0]
        cid = coverage["coverage_id"]
        assert added.json()["changes"] == [
            {
                "coverage_id": cid,
                "payer_id": "AETNA",
                "kind": "added",
                "retroactive": False,
                "termination_date": None,
            }
        ]

        corrected = await patch_coverage(
            client, headers, pid, cid, {"member_id": "W987654321", "reason": "correction"}, '"2"'
        )
        assert corrected.status_code == 200, corrected.text
        assert [c["kind"] for c in corrected.json()["changes"]] == ["member_id_corrected"]

        ended = await patch_coverage(
            client,
            headers,
            pid,
            cid,
            {"termination_date": yesterday, "reason": "other", "note": "employer"},
            '"3"',
        )
        assert ended.status_code == 200, ended.text
        (change,) = ended.json()["changes"]
        assert change["kind"] == "terminated" and change["retroactive"] is True
        assert change["termination_date"] == yesterday

        events = await read_events(settings.kafka_bootstrap_servers, "coverage.updated", start, pid, count=3)
        assert [e["revision"] for e in events] == [2, 3, 4]
        assert [e["changes"][0]["kind"] for e in events] == ["added", "member_id_corrected", "terminated"]
        assert events[1]["coverages"][0]["member_id"] == "W987654321"
        assert events[2]["changes"][0]["retroactive"] is True
        assert events[2]["changed_by"] == "clerk-3"

        history = await get_history(client, headers, pid)
        assert history[0]["entity"] == "coverage" and history[0]["kind"] == "terminated"
        assert history[1]["before"] == {"member_id": "W123456789"}
        assert history[1]["after"] == {"member_id": "W987654321"}


async def test_one_coverage_per_order_in_force_and_dates(frontoffice: Any, auth: Any) -> None:
    headers = auth(*WRITE)
    async with frontoffice() as (_, client):
        pid = await _registered(client, headers)
        first = await post_coverage(client, headers, pid, make_coverage(termination_date="2026-06-30"))
        cid = first.json()["coverages"][0]["coverage_id"]
        overlapping = await post_coverage(
            client, headers, pid, make_coverage(payer_id="CIGNA", effective_date="2026-06-01")
        )
        assert overlapping.status_code == 409, overlapping.text
        assert overlapping.json()["errors"][0] == {
            "field": "body.order",
            "rule": "one_in_force_per_order",
            "message": "Terminate or reorder the other.",
        }
        after = await post_coverage(
            client, headers, pid, make_coverage(payer_id="CIGNA", effective_date="2026-07-01")
        )
        assert after.status_code == 201, after.text
        # the older primary cannot be extended into the newer one's dates
        reinstated = await patch_coverage(
            client,
            headers,
            pid,
            cid,
            {"termination_date": None, "reason": "correction"},
            after.headers["ETag"],
        )
        assert reinstated.status_code == 409
        backwards = await patch_coverage(
            client,
            headers,
            pid,
            cid,
            {"termination_date": "2025-12-31", "reason": "correction"},
            after.headers["ETag"],
        )
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["field"] == "body.termination_date"
        stale = await patch_coverage(
            client, headers, pid, cid, {"plan": "Gold", "reason": "correction"}, '"1"'
        )
        assert stale.status_code == 412
        payer = await patch_coverage(
            client, headers, pid, cid, {"payer_id": "X", "reason": "correction"}, after.headers["ETag"]
        )
        assert payer.status_code == 422 and payer.json()["errors"][0]["field"] == "body.payer_id"
        listed = await client.get(f"/v1/patients/{pid}/coverages", headers=headers)
        assert [c["payer_id"] for c in listed.json()["coverages"]] == ["CIGNA", "AETNA"]
        assert listed.headers["ETag"] == after.headers["ETag"]


async def test_reorder_swaps_primary_and_secondary(frontoffice: Any, auth: Any, settings: Any) -> None:
    headers = auth(*WRITE)
    async with frontoffice() as (_, client):
        pid = await _registered(client, headers)
        a = (await post_coverage(client, headers, pid, make_coverage())).json()["coverages"][0]["coverage_id"]
        added = await post_coverage(
            client,
            headers,
            pid,
            make_coverage(order="secondary", payer_id="MEDICARE", member_id="1EG4TE5MK72"),
        )
        b = next(c["coverage_id"] for c in added.json()["coverages"] if c["order"] == "secondary")
        start = await end_offsets(settings.kafka_bootstrap_servers, "coverage.updated")
        swap = {
            "assignments": [{"coverage_id": a, "order": "secondary"}, {"coverage_id": b, "order": "primary"}],
            "reason": "correction",
        }
        swapped = await client.post(
            f"/v1/patients/{pid}/coverages/order",
            json=swap,
            headers={**headers, "If-Match": added.headers["ETag"]},
        )
        assert swapped.status_code == 200, swapped.text
        assert [c["payer_id"] for c in swapped.json()["coverages"]] == ["MEDICARE", "AETNA"]
        assert sorted(c["kind"] for c in swapped.json()["changes"]) == ["reordered", "reordered"]
        (event,) = await read_events(settings.kafka_bootstrap_servers, "coverage.updated", start, pid)
        assert event["revision"] == 4
        assert [(c["payer_id"], c["order"]) for c in event["coverages"]] == [
            ("MEDICARE", "primary"),
            ("AETNA", "secondary"),
        ]

        unchanged = {"assignments": [{"coverage_id": b, "order": "primary"}], "reason": "correction"}
        same = await client.post(
            f"/v1/patients/{pid}/coverages/order", json=unchanged, headers={**headers, "If-Match": '"4"'}
        )
        assert same.status_code == 200 and same.json()["changes"] == [] and same.json()["revision"] == 4
        history = await get_history(client, headers, pid)
        assert [(h["revision"], h["kind"]) for h in history[:2]] == [(4, "reordered"), (4, "reordered")]

        unknown = {
            "assignments": [{"coverage_id": "00000000-0000-0000-0000-000000000000", "order": "primary"}],
            "reason": "other",
        }
        refused = await client.post(
            f"/v1/patients/{pid}/coverages/order", json=unknown, headers={**headers, "If-Match": "*"}
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "body.assignments.0.coverage_id"


async def test_a_retried_addition_with_its_idempotency_key_adds_the_coverage_once(
    frontoffice: Any, auth: Any
) -> None:
    headers = auth(*WRITE, subject="clerk-7")
    keyed = {**headers, "Idempotency-Key": unique("add-cov")}
    async with frontoffice() as (_, client):
        pid = await _registered(client, headers)
        first = await post_coverage(client, keyed, pid, make_coverage())
        assert first.status_code == 201, first.text
        again = await post_coverage(client, keyed, pid, make_coverage())
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json() and again.headers["ETag"] == first.headers["ETag"] == '"2"'
        listed = await client.get(f"/v1/patients/{pid}/coverages", headers=headers)
        assert [c["coverage_id"] for c in listed.json()["coverages"]] == [
            first.json()["coverages"][0]["coverage_id"]
        ]
        other = await post_coverage(client, keyed, pid, make_coverage(member_id="W000000001"))
        assert other.status_code == 422, other.text  # the same key for another request
