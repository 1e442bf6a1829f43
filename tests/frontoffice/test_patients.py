"""The patient registry: registration (idempotent, 409 on a duplicate id), reading with an
ETag, changes with a reason under If-Match (412 stale, 428 missing), search, the history,
and the registry half of the address-change story (patient.updated on Kafka)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tests.conftest import connect_as, end_offsets, unique
from tests.frontoffice.helpers import (
    WRITE,
    get_history,
    get_patient,
    make_patient,
    patch_patient,
    post_patient,
    read_events,
)

NEW_ADDRESS = {
    "line1": "400 Oak Ave",
    "line2": "Apt 2",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
}


async def test_register_read_and_replay(frontoffice: Any, auth: Any) -> None:
    headers = auth(*WRITE, subject="clerk-1")
    body = make_patient()
    async with frontoffice() as (_, client):
        first = await client.post("/v1/patients", json=body, headers={**headers, "Idempotency-Key": "k-1"})
        assert first.status_code == 201, first.text
        assert first.headers["ETag"] == '"1"'
        assert first.headers["Location"] == f"/v1/patients/{body['patient_id']}"
        again = await client.post("/v1/patients", json=body, headers={**headers, "Idempotency-Key": "k-1"})
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()

        duplicate = await post_patient(client, headers, body)
        assert duplicate.status_code == 409
        problem = duplicate.json()
        assert duplicate.headers["content-type"] == "application/problem+json"
        assert problem["errors"][0] == {
            "field": "body.patient_id",
            "rule": "unique",
            "message": "Use the patient on file.",
        }
        assert body["patient_id"] not in duplicate.text  # never echoes the id

        read = await get_patient(client, headers, body["patient_id"])
        assert read.status_code == 200 and read.headers["ETag"] == '"1"'
        assert read.json()["patient"]["last_name"] == "Lopez"
        assert read.json()["guarantor"]["relationship_code"] == "18"

        missing = await get_patient(client, headers, unique("P"))
        assert missing.status_code == 404 and missing.json()["type"].endswith("/patient-not-found")
        refused = await get_patient(client, auth("tickets:read"), body["patient_id"])
        assert refused.status_code == 403


async def test_address_change_publishes_patient_updated_and_keeps_history(
    frontoffice: Any, auth: Any, settings: Any
) -> None:
    """The registry half of the story "Address change": the patient moves, PATCH with reason
    moved, patient.updated with the next revision and the new address is on Kafka, and the
    history keeps who, when, why and before/after."""
    headers = auth(*WRITE, subject="clerk-2")
    body = make_patient()
    pid = body["patient_id"]
    async with frontoffice() as (_, client):
        start = await end_offsets(settings.kafka_bootstrap_servers, "patient.updated")
        assert (await post_patient(client, headers, body)).status_code == 201
        moved = await patch_patient(
            client, headers, pid, {"address": NEW_ADDRESS, "reason": "moved", "note": "called in"}, '"1"'
        )
        assert moved.status_code == 200, moved.text
        assert moved.headers["ETag"] == '"2"'
        assert moved.json()["patient"]["address"] == NEW_ADDRESS
        events = await read_events(settings.kafka_bootstrap_servers, "patient.updated", start, pid, count=2)
        registered, updated = events
        assert registered["revision"] == 1 and registered["reason"] == "registration"
        assert updated["revision"] == 2
        assert updated["reason"] == "moved" and updated["changed_fields"] == ["address"]
        assert updated["patient"]["address"] == NEW_ADDRESS
        assert updated["changed_by"] == "clerk-2"

        history = await get_history(client, headers, pid)
        latest = history[0]
        assert latest["reason"] == "moved" and latest["note"] == "called in"
        assert latest["fields"] == ["address"] and latest["changed_by"] == "clerk-2"
        assert latest["before"]["address"]["line1"] == "12 Elm St"
        assert latest["after"]["address"] == NEW_ADDRESS
        assert [h["kind"] for h in history] == ["updated", "registered"]

        # the history is PHI: every read is audited, a refused one too
        intruder = unique("intruder")
        refused = await client.get(
            f"/v1/patients/{pid}/history", headers=auth("tickets:read", subject=intruder)
        )
        assert refused.status_code == 403
        audit = await client.get(
            "/v1/audit", params={"resource_type": "patient_history"}, headers=auth("ops:read")
        )
        entries = [e for e in audit.json() if e["patient_id"] == pid or e["actor"] == intruder]
        assert {(e["actor"], e["outcome"]) for e in entries} == {("clerk-2", "success"), (intruder, "denied")}

    conn = await connect_as("frontoffice", settings)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE patient_history SET reason = 'other' WHERE patient_id = $1", pid)
    finally:
        await conn.close()


async def test_changes_need_the_current_revision_and_a_reason(
    frontoffice: Any, auth: Any, settings: Any
) -> None:
    headers = auth(*WRITE)
    body = make_patient()
    pid = body["patient_id"]
    async with frontoffice() as (_, client):
        await post_patient(client, headers, body)
        first = await patch_patient(
            client, headers, pid, {"phone": "2175550199", "reason": "correction"}, '"1"'
        )
        assert first.status_code == 200 and first.json()["revision"] == 2

        stale = await patch_patient(
            client, headers, pid, {"last_name": "Diaz", "reason": "name_change"}, '"1"'
        )
        assert stale.status_code == 412, stale.text
        assert stale.headers["ETag"] == '"2"'
        assert stale.json()["errors"][0]["field"] == "header.If-Match"

        missing = await patch_patient(
            client, headers, pid, {"last_name": "Diaz", "reason": "name_change"}, None
        )
        assert missing.status_code == 428

        superscript = await client.patch(  # a latin-1 "digit" int() refuses: 422, not a 500
            f"/v1/patients/{pid}",
            json={"last_name": "Diaz", "reason": "name_change"},
            headers={**headers, "If-Match": b'"\xb2"'},
        )
        assert superscript.status_code == 422, superscript.text
        assert superscript.json()["errors"][0] == {
            "field": "header.If-Match",
            "rule": "format",
            "message": 'Use the ETag as given, e.g. "7".',
        }

        no_reason = await patch_patient(client, headers, pid, {"last_name": "Diaz"}, '"2"')
        assert no_reason.status_code == 422
        assert no_reason.json()["errors"][0]["field"] == "body.reason"
        bad_reason = await patch_patient(client, headers, pid, {"last_name": "Diaz", "reason": "whim"}, '"2"')
        assert bad_reason.status_code == 422

        cleared = await patch_patient(
            client, headers, pid, {"last_name": None, "reason": "correction"}, '"2"'
        )
        assert cleared.status_code == 422
        assert cleared.json()["errors"][0] == {
            "field": "body.last_name",
            "rule": "required",
            "message": "This field cannot be cleared.",
        }
        bad_zip = {**NEW_ADDRESS, "postal_code": "6270X"}
        wrong = await patch_patient(client, headers, pid, {"address": bad_zip, "reason": "moved"}, '"2"')
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "body.address.postal_code"
        assert "6270X" not in wrong.text

        same = await patch_patient(
            client, headers, pid, {"phone": "2175550199", "reason": "correction"}, '"2"'
        )
        assert same.status_code == 200 and same.json()["revision"] == 2  # nothing changed, no revision

        star = await patch_patient(client, headers, pid, {"last_name": "Diaz", "reason": "name_change"}, "*")
        assert star.status_code == 200 and star.json()["revision"] == 3
        history = await get_history(client, headers, pid)
        assert [h["revision"] for h in history] == [3, 2, 1]


async def test_search_pages_and_filters(frontoffice: Any, auth: Any) -> None:
    headers = auth(*WRITE)
    family = unique("Zed").replace("-", "")
    async with frontoffice() as (_, client):
        for first, born in (("Ann", "1990-01-01"), ("Bea", "1991-02-02"), ("Cy", "1990-01-01")):
            resp = await post_patient(
                client, headers, make_patient(first_name=first, last_name=family, birth_date=born)
            )
            assert resp.status_code == 201
        page = await client.get(
            "/v1/patients", params={"last_name": family[:8].lower(), "limit": 2}, headers=headers
        )
        assert page.status_code == 200
        assert [p["first_name"] for p in page.json()["items"]] == ["Cy", "Bea"]
        rest = await client.get(
            "/v1/patients",
            params={"last_name": family[:8], "limit": 2, "cursor": page.json()["next_cursor"]},
            headers=headers,
        )
        assert [p["first_name"] for p in rest.json()["items"]] == ["Ann"]
        assert rest.json()["next_cursor"] is None
        born = await client.get(
            "/v1/patients", params={"last_name": family, "birth_date": "1990-01-01"}, headers=headers
        )
        assert sorted(p["first_name"] for p in born.json()["items"]) == ["Ann", "Cy"]


async def test_idempotency_keys_are_per_caller(frontoffice: Any, auth: Any) -> None:
    """Two clerks who happen to pick one key each register their own patient; a retry of the
    first replays the first's answer."""
    key = unique("shared-key")
    a = {**auth(*WRITE, subject=unique("clerk-a")), "Idempotency-Key": key}
    b = {**auth(*WRITE, subject=unique("clerk-b")), "Idempotency-Key": key}
    first, second = make_patient(), make_patient()
    async with frontoffice() as (_, client):
        taken = await post_patient(client, a, first)
        assert taken.status_code == 201 and "Idempotent-Replayed" not in taken.headers
        theirs = await post_patient(client, b, second)
        assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
        assert theirs.json()["patient_id"] == second["patient_id"]
        retry = await post_patient(client, a, first)
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["patient_id"] == first["patient_id"]
        reused = await post_patient(client, a, make_patient())
        assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "header.Idempotency-Key"


async def test_two_clerks_on_one_revision_one_wins(frontoffice: Any, auth: Any) -> None:
    """Two people change the patient they both read at revision 1, at the same moment: the
    patient's row lock orders them, the first takes revision 2, the second is told 412 and
    changes nothing (no lost update)."""
    body = make_patient()
    pid = body["patient_id"]
    async with frontoffice() as (_, client):
        await post_patient(client, auth(*WRITE), body)
        answers = await asyncio.gather(
            patch_patient(
                client,
                auth(*WRITE, subject="clerk-a"),
                pid,
                {"phone": "2175550111", "reason": "correction"},
                '"1"',
            ),
            patch_patient(
                client,
                auth(*WRITE, subject="clerk-b"),
                pid,
                {"email": "b@example.org", "reason": "correction"},
                '"1"',
            ),
        )
        assert sorted(a.status_code for a in answers) == [200, 412]
        winner = next(a for a in answers if a.status_code == 200)
        assert winner.json()["revision"] == 2
        history = await get_history(client, auth(*WRITE), pid)
        assert [h["revision"] for h in history] == [2, 1]
        assert history[0]["fields"] in (["phone"], ["email"])
