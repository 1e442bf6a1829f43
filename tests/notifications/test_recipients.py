"""The directory over HTTP: recipients and preferences, and bad input answered with a 422 that
names the field and never echoes the value (it may be PHI)."""

from __future__ import annotations

from tests.conftest import unique
from tests.notifications.helpers import READ, WRITE, put_recipient, running_notifications

# --- must show: bad input -------------------------------------------------------------------


async def test_bad_input_gets_422_problem_json_naming_the_field(settings, sink):
    patient = unique("pat")
    async with running_notifications(settings, sink) as (_, client):
        cases = [
            (f"/v1/recipients/{patient}", {"kind": "patient", "email": "not-an-email"}, "body.email"),
            (f"/v1/recipients/{patient}", {"kind": "patient", "phone": "555-0100"}, "body.phone"),
            (f"/v1/recipients/{patient}", {"kind": "robot"}, "body.kind"),
            (f"/v1/recipients/{patient}", {"kind": "staff", "roles": ["janitor"]}, "body.roles.0"),
            (f"/v1/recipients/{patient}", {"kind": "patient", "timezone": "Mars/Olympus"}, "body.timezone"),
            (
                f"/v1/recipients/{unique('nobody')}/preferences",
                {"rules": [{"category": "statements", "channel": "email", "opt_in": False}]},
                "path.recipient_id",
            ),
        ]
        for url, body, field in cases:
            resp = await client.put(url, json=body, headers=WRITE)
            assert resp.status_code == 422, (url, body, resp.text)
            assert resp.headers["content-type"] == "application/problem+json"
            problem = resp.json()
            assert problem["status"] == 422 and field in {e["field"] for e in problem["errors"]}, problem
            # The rejected value is never echoed back (it may be PHI).
            for value in ("not-an-email", "555-0100", "Mars/Olympus"):
                assert value not in resp.text

        await put_recipient(
            client, patient, kind="patient", email=f"{patient}@mail.example", phone="+15555550123"
        )
        unknown_category = await client.put(
            f"/v1/recipients/{patient}/preferences",
            json={"rules": [{"category": "horoscopes", "channel": "email", "opt_in": False}]},
            headers=WRITE,
        )
        assert unknown_category.status_code == 422
        assert unknown_category.json()["errors"][0]["field"] == "body.rules.0.category"
        wrong_audience = await client.put(
            f"/v1/recipients/{patient}/preferences",
            json={"rules": [{"category": "denials", "channel": "email", "opt_in": False}]},
            headers=WRITE,
        )
        assert wrong_audience.status_code == 422
        assert wrong_audience.json()["errors"][0]["rule"] == "not_for_recipient"
        unknown_list = await client.get(
            "/v1/notifications", params={"recipient": unique("ghost")}, headers=READ
        )
        assert unknown_list.status_code == 422
        assert unknown_list.json()["errors"][0] == {
            "field": "query.recipient",
            "rule": "unknown_recipient",
            "message": "No such recipient.",
        }
        got = await client.get(f"/v1/recipients/{patient}", headers=READ)
        assert got.status_code == 200 and got.json()["phone"] == "+15555550123"
        assert (await client.get(f"/v1/recipients/{patient}")).status_code == 401
