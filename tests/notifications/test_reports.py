"""The deliveries report: counts per channel, status, template and audience over a date range,
with the house date-range parameters."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import eventually, unique
from tests.notifications.helpers import (
    READ,
    get_notifications,
    make_payment,
    publish,
    put_recipient,
    running_notifications,
)


async def test_the_deliveries_report_counts_todays_notifications_and_checks_its_range(
    settings, sink, producer
):
    account = unique("rep")
    async with running_notifications(settings, sink) as (_, client):
        await put_recipient(client, account, kind="patient", email=f"{account}@mail.example")
        await publish(producer, make_payment(account, "9.99"))
        await eventually(lambda: get_notifications(client, account), timeout=60)

        today = date.today()
        report = await client.get("/v1/reports/deliveries", headers=READ)
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["date_from"] == body["date_to"] == today.isoformat()
        assert body["notifications"] >= 1 and body["by_template"]["payment_receipt"] >= 1
        assert body["by_audience"]["patient"] >= 1
        assert body["by_channel"]["inbox"]["sent"] >= 1 and "email" in body["by_channel"]

        yesterday = (today - timedelta(days=1)).isoformat()
        empty = await client.get(
            "/v1/reports/deliveries", params={"date_from": yesterday, "date_to": yesterday}, headers=READ
        )
        assert empty.status_code == 200
        for params in ({"date_from": today.isoformat(), "date_to": yesterday}, {"date_from": "2999-01-01"}):
            bad = await client.get("/v1/reports/deliveries", params=params, headers=READ)
            assert bad.status_code == 422, params
            assert bad.json()["errors"][0]["field"] == "query.date_from"
        assert (await client.get("/v1/reports/deliveries")).status_code == 401
