"""Authorizations: recorded, announced, and warned about once before they lapse."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta
from typing import Any

from services.eligibility.authorizations.workers import alert_step
from shared.events import new_event
from shared.events.envelope import encode
from tests.conftest import end_offsets, eventually, read_from, unique
from tests.eligibility.helpers import (
    WRITE,
    get_authorizations,
    make_auth_body,
    make_submitted,
    post_authorization,
)


async def test_authorizations_are_recorded_announced_and_warned_about_once(
    eligibility, sandbox, servers, admin
):
    patient = unique("apat")
    today = date.today()
    recorded_start = await end_offsets(servers.kafka_bootstrap, "authorization.recorded")
    expiring_start = await end_offsets(servers.kafka_bootstrap, "authorization.expiring")
    async with eligibility(authorization_expiring_days=10, authorization_visits_threshold=2) as (app, client):
        soon = {
            "patient_id": patient,
            "payer_id": "SBX001",
            "number": unique("PA"),
            "service_codes": ["97110"],
            "start_date": (today - timedelta(days=30)).isoformat(),
            "end_date": (today + timedelta(days=5)).isoformat(),
            "visits_allowed": 12,
            "visits_used": 3,
        }
        later = {**soon, "number": unique("PA"), "end_date": (today + timedelta(days=90)).isoformat()}
        created = await post_authorization(client, soon)
        assert created.status_code == 201, created.text
        other = (await post_authorization(client, later)).json()
        dup = await post_authorization(client, soon)
        assert dup.status_code == 409
        listed = (await get_authorizations(client, patient_id=patient)).json()
        newest_first = [later["number"], soon["number"]]
        assert [a["number"] for a in listed["items"]] == newest_first and listed["next_cursor"] is None
        first = (await get_authorizations(client, patient_id=patient, limit=1)).json()
        rest = (await get_authorizations(client, patient_id=patient, cursor=first["next_cursor"])).json()
        assert [a["number"] for a in first["items"] + rest["items"]] == newest_first
        # date_from/date_to keep those valid at some time in the range.
        after_soon = {"date_from": (today + timedelta(days=10)).isoformat()}
        valid = (await get_authorizations(client, patient_id=patient, **after_soon)).json()
        assert [a["number"] for a in valid["items"]] == [later["number"]]
        backwards = {**after_soon, "date_to": today.isoformat()}
        refused = await get_authorizations(client, patient_id=patient, **backwards)
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["query.date_from"]

        await alert_step(app, today)  # the 5-days-left one is due (days threshold 10)
        await alert_step(app, today)  # ...and only once
        # Use visits on the other until 2 remain: the visits threshold fires for it.
        used = await client.post(
            f"/v1/authorizations/{other['id']}/visits", json={"visits": 7}, headers=WRITE
        )
        assert used.json()["visits_left"] == 2
        await alert_step(app, today)
        await alert_step(app, today)

        recorded = await read_from(
            servers.kafka_bootstrap,
            "authorization.recorded",
            recorded_start,
            until=lambda rs: sum(r.key == patient.encode() for r in rs) >= 2,
        )
        expiring = await read_from(
            servers.kafka_bootstrap,
            "authorization.expiring",
            expiring_start,
            until=lambda rs: sum(r.key == patient.encode() for r in rs) >= 2,
        )
    # Once per authorization and threshold, at the source: two rows in the outbox, not four.
    staged = await admin.fetchval(
        "SELECT count(*) FROM eligibility.outbox "
        "WHERE event_type = 'authorization.expiring.v1' AND event_key = $1",
        patient,
    )
    assert staged == 2
    mine = [json.loads(r.value) for r in recorded if r.key == patient.encode()]
    # (each change is announced too: the visits used on `other` follow its recording)
    assert sorted({e["number"] for e in mine}) == sorted([soon["number"], later["number"]])
    alerts = [json.loads(r.value) for r in expiring if r.key == patient.encode()]
    assert sorted((a["authorization_id"], a["days_left"], a["visits_left"]) for a in alerts) == sorted(
        [(created.json()["id"], 5, 9), (other["id"], 90, 2)]
    )


# --- visits: counted from claims, announced to them --------------------------------------


async def publish_event(producer: Any, payload: Any) -> uuid.UUID:
    event = new_event(payload, source="/tests/claims")
    topic, key, value, headers = encode(event)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return event.id


async def test_recording_visits_publishes_the_authorizations_new_state(eligibility, sandbox, servers):
    """`POST /v1/authorizations/{id}/visits` announces the authorization's new state
    (authorization.recorded with visits_used), so claims' copy stays current. An
    authorization may name service types (X12 EB03, e.g. PT) instead of codes."""
    patient = unique("apat")
    start = await end_offsets(servers.kafka_bootstrap, "authorization.recorded")
    async with eligibility() as (_, client):
        created = await post_authorization(
            client, make_auth_body(patient, service_codes=[], service_type_codes=["PT"], visits_allowed=2)
        )
        assert created.status_code == 201, created.text
        assert created.json()["service_type_codes"] == ["PT"]
        used = await client.post(
            f"/v1/authorizations/{created.json()['id']}/visits", json={"visits": 1}, headers=WRITE
        )
        assert used.status_code == 200 and used.json()["visits_left"] == 1
        records = await read_from(
            servers.kafka_bootstrap,
            "authorization.recorded",
            start,
            until=lambda rs: sum(r.key == patient.encode() for r in rs) >= 2,
        )
    states = [json.loads(r.value) for r in records if r.key == patient.encode()]
    assert [(s["visits_used"], s["service_type_codes"]) for s in states] == [(0, ["PT"]), (1, ["PT"])]


async def test_each_submitted_claim_counts_its_authorized_visit_once(
    eligibility, sandbox, servers, producer, admin
):
    """claims publishes claim.submitted with each line's REF*G1 number; eligibility counts
    the visit against that authorization once per claim and date of service, whatever
    happens to the claim afterwards: sent again after a rejection, or replaced by a
    correction (frequency 7, naming the first claim of its chain) counts nothing more; a
    void (frequency 8) gives the visit back. Each change is announced (authorization.recorded)."""
    patient = unique("apat")
    start = await end_offsets(servers.kafka_bootstrap, "authorization.recorded")
    async with eligibility() as (app, client):
        await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
        auth = (await post_authorization(client, make_auth_body(patient))).json()
        number = auth["number"]

        async def used() -> int:
            answer = await client.get(f"/v1/authorizations/{auth['id']}", headers=WRITE)
            return answer.json()["visits_used"]

        async def handled(*event_ids: uuid.UUID) -> bool:
            done = await admin.fetchval(
                "SELECT count(*) FROM eligibility.inbox WHERE event_id = ANY($1::uuid[])", list(event_ids)
            )
            return done == len(event_ids)

        first = make_submitted(patient, number)
        await publish_event(producer, first)
        assert await eventually(lambda: used_is(used, 1), what="the first visit counted")

        again = await publish_event(producer, first)  # sent again after a rejection
        corrected = await publish_event(
            producer, make_submitted(patient, number, first_claim_id=first.claim_id, frequency="7")
        )
        unauthorized = await publish_event(producer, make_submitted(patient, None))
        unknown = await publish_event(producer, make_submitted(patient, "NOT-ON-FILE"))
        await eventually(lambda: handled(again, corrected, unauthorized, unknown), what="events handled")
        assert await used() == 1

        second = make_submitted(patient, number, days_ago=1)  # another visit
        await publish_event(producer, second)
        assert await eventually(lambda: used_is(used, 2), what="the second visit counted")
        void = make_submitted(patient, number, first_claim_id=second.claim_id, frequency="8")
        await publish_event(producer, void)
        assert await eventually(lambda: used_is(used, 1), what="the voided visit given back")

        records = await read_from(
            servers.kafka_bootstrap,
            "authorization.recorded",
            start,
            until=lambda rs: sum(r.key == patient.encode() for r in rs) >= 4,
        )
    states = [json.loads(r.value) for r in records if r.key == patient.encode()]
    assert [s["visits_used"] for s in states] == [0, 1, 2, 1]
    assert {s["authorization_id"] for s in states} == {auth["id"]}


async def used_is(used: Any, expected: int) -> bool:
    return await used() == expected
