"""Authorizations: recorded, announced, and warned about once before they lapse."""

from __future__ import annotations

import json
from datetime import date, timedelta

from services.eligibility.authorizations.workers import alert_step
from tests.conftest import end_offsets, read_from, unique
from tests.eligibility.helpers import WRITE, get_authorizations, post_authorization


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
    assert sorted(e["number"] for e in mine) == sorted([soon["number"], later["number"]])
    alerts = [json.loads(r.value) for r in expiring if r.key == patient.encode()]
    assert sorted((a["authorization_id"], a["days_left"], a["visits_left"]) for a in alerts) == sorted(
        [(created.json()["id"], 5, 9), (other["id"], 90, 2)]
    )
