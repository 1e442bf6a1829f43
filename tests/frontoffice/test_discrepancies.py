"""Discrepancies: eligibility.discrepancy_found opens one (once per check), staff accept
(through the registry's own change commands, reason payer_271, per field) or reject, and the
accepting half of the story "Discrepancy"."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events.envelope import new_event
from shared.events.frontoffice import DiscrepancyField, DiscrepancyFound
from tests.conftest import encode_signed, end_offsets, eventually
from tests.frontoffice.helpers import (
    WRITE,
    get_history,
    get_patient,
    make_coverage,
    make_patient,
    patch_patient,
    post_coverage,
    post_patient,
    read_events,
)


async def publish_found(
    producer: Any,
    patient_id: str,
    fields: list[DiscrepancyField],
    *,
    check_id: uuid.UUID | None = None,
    revision: int = 1,
) -> uuid.UUID:
    """An eligibility.discrepancy_found as eligibility publishes it."""
    check = check_id or uuid.uuid4()
    payload = DiscrepancyFound(
        check_id=check,
        patient_id=patient_id,
        payer_id="AETNA",
        registry_revision=revision,
        fields=fields,
        found_at=datetime.now(UTC),
    )
    topic, key, value, headers = encode_signed(new_event(payload))
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return check


async def opened(
    client: Any, headers: dict[str, str], patient_id: str, count: int = 1
) -> list[dict[str, Any]]:
    """The patient's open discrepancies once `count` of them are there."""

    async def listed() -> list[dict[str, Any]] | None:
        resp = await client.get(
            "/v1/discrepancies", params={"status": "open", "patient_id": patient_id}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        return items if len(items) >= count else None

    return await eventually(listed, what="discrepancy opened")


async def test_story_discrepancy_accepted_updates_the_registry(
    frontoffice: Any, auth: Any, settings: Any, producer: Any
) -> None:
    """The accepting half of "Discrepancy": a 271 said another birth date → a discrepancy
    (once, though the event came twice) → accept → the patient has the payer's birth date,
    the history says payer_271, patient.updated with the next revision is on Kafka."""
    headers = auth(*WRITE, subject="clerk-4")
    body = make_patient(birth_date="1984-03-09")
    pid = body["patient_id"]
    async with frontoffice(events=True) as (_, client):
        assert (await post_patient(client, headers, body)).status_code == 201
        field = DiscrepancyField(field="birth_date", registry_value="1984-03-09", payer_value="1984-09-03")
        check = await publish_found(producer, pid, [field])
        await publish_found(producer, pid, [field], check_id=check)  # redelivered
        await publish_found(producer, pid, [field])  # another check: its own discrepancy
        first, second = await opened(client, headers, pid, count=2)
        assert {first["check_id"], second["check_id"]} >= {str(check)}
        mine = first if first["check_id"] == str(check) else second
        assert mine["fields"][0]["payer_value"] == "1984-09-03" and mine["registry_revision"] == 1

        start = await end_offsets(settings.kafka_bootstrap_servers, "patient.updated")
        accepted = await client.post(
            f"/v1/discrepancies/{mine['id']}/accept", json={"note": "card"}, headers=headers
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "accepted"
        assert accepted.json()["outcome"] == {"birth_date": "applied"}
        assert accepted.json()["applied_revision"] == 2

        patient = await get_patient(client, headers, pid)
        assert patient.json()["patient"]["birth_date"] == "1984-09-03"
        assert patient.headers["ETag"] == '"2"'
        latest = (await get_history(client, headers, pid))[0]
        assert latest["reason"] == "payer_271" and latest["fields"] == ["birth_date"]
        assert latest["before"] == {"birth_date": "1984-03-09"} and latest["after"] == {
            "birth_date": "1984-09-03"
        }
        assert latest["changed_by"] == "clerk-4" and mine["id"] in latest["note"]
        (event,) = await read_events(settings.kafka_bootstrap_servers, "patient.updated", start, pid)
        assert event["revision"] == 2 and event["reason"] == "payer_271"
        assert event["patient"]["birth_date"] == "1984-09-03" and event["changed_fields"] == ["birth_date"]

        # the other check's discrepancy says the same: nothing left to apply
        other = second if mine is first else first
        again = await client.post(f"/v1/discrepancies/{other['id']}/accept", headers=headers)
        assert again.json()["outcome"] == {"birth_date": "already_applied"}
        assert again.json()["applied_revision"] is None
        twice = await client.post(f"/v1/discrepancies/{mine['id']}/accept", headers=headers)
        assert twice.status_code == 409


async def test_stale_discrepancy_is_decided_per_field_and_member_id_goes_through_coverages(
    frontoffice: Any, auth: Any, settings: Any, producer: Any
) -> None:
    headers = auth(*WRITE)
    body = make_patient(last_name="Lopez", birth_date="1984-03-09")
    pid = body["patient_id"]
    async with frontoffice(events=True) as (_, client):
        await post_patient(client, headers, body)
        added = await post_coverage(client, headers, pid, make_coverage(member_id="W123456789"))
        cid = added.json()["coverages"][0]["coverage_id"]
        fields = [
            DiscrepancyField(field="last_name", registry_value="Lopez", payer_value="LOPEZ-DIAZ"),
            DiscrepancyField(field="birth_date", registry_value="1984-03-09", payer_value="1984-09-03"),
            DiscrepancyField(
                field="member_id",
                registry_value="W123456789",
                payer_value="W123456780",
                coverage_id=uuid.UUID(cid),
            ),
            DiscrepancyField(field="other_payer", payer_value="CIGNA secondary", payer_id="CIGNA"),
        ]
        await publish_found(producer, pid, fields, revision=2)
        (found,) = await opened(client, headers, pid)
        # someone corrects the birth date to a third value after the check
        third = await patch_patient(
            client, headers, pid, {"birth_date": "1984-03-19", "reason": "correction"}, '"2"'
        )
        assert third.status_code == 200
        start = await end_offsets(settings.kafka_bootstrap_servers, "coverage.updated")
        accepted = await client.post(f"/v1/discrepancies/{found['id']}/accept", headers=headers)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["outcome"] == {
            "last_name": "applied",
            "birth_date": "superseded",
            f"member_id:{cid}": "applied",
            "other_payer": "not_applicable",
        }
        assert accepted.json()["applied_revision"] == 5  # 4: last name, 5: member id
        patient = (await get_patient(client, headers, pid)).json()["patient"]
        assert patient["last_name"] == "LOPEZ-DIAZ" and patient["birth_date"] == "1984-03-19"
        (event,) = await read_events(settings.kafka_bootstrap_servers, "coverage.updated", start, pid)
        assert event["revision"] == 5 and event["reason"] == "payer_271"
        assert event["changes"][0]["kind"] == "member_id_corrected"
        assert event["coverages"][0]["member_id"] == "W123456780"


async def test_reject_keeps_the_registry(frontoffice: Any, auth: Any, producer: Any) -> None:
    headers = auth(*WRITE)
    body = make_patient()
    pid = body["patient_id"]
    async with frontoffice(events=True) as (_, client):
        await post_patient(client, headers, body)
        address = "9 Old Rd, Springfield, IL 62704"
        await publish_found(
            producer,
            pid,
            [
                DiscrepancyField(
                    field="address", registry_value="12 Elm St, Springfield, IL 62704", payer_value=address
                )
            ],
        )
        (found,) = await opened(client, headers, pid)
        no_note = await client.post(f"/v1/discrepancies/{found['id']}/reject", json={}, headers=headers)
        assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "body.note"
        rejected = await client.post(
            f"/v1/discrepancies/{found['id']}/reject",
            json={"note": "patient confirmed Elm St"},
            headers=headers,
        )
        assert rejected.status_code == 200
        assert rejected.json()["status"] == "rejected" and rejected.json()["decided_by"] == "test-user"
        read = await client.get(f"/v1/discrepancies/{found['id']}", headers=headers)
        assert read.json()["note"] == "patient confirmed Elm St"
        patient = await get_patient(client, headers, pid)
        assert (
            patient.headers["ETag"] == '"1"' and patient.json()["patient"]["address"]["line1"] == "12 Elm St"
        )
        late = await client.post(f"/v1/discrepancies/{found['id']}/accept", headers=headers)
        assert late.status_code == 409
        assert (await client.get(f"/v1/discrepancies/{uuid.uuid4()}", headers=headers)).status_code == 404
        refused = await client.post(f"/v1/discrepancies/{found['id']}/accept", headers=auth("patients:read"))
        assert refused.status_code == 403


def test_payer_address_reads_back_into_parts() -> None:
    from services.frontoffice.discrepancies.domain import address_text, parse_address

    parsed = parse_address("400 OAK AVE, APT 2, SPRINGFIELD, IL 62701-1234")
    assert parsed == {
        "line1": "400 OAK AVE",
        "line2": "APT 2",
        "city": "SPRINGFIELD",
        "state": "IL",
        "postal_code": "627011234",
    }
    assert address_text(parsed) == "400 OAK AVE, APT 2, SPRINGFIELD, IL 627011234"
    assert parse_address("somewhere") is None
