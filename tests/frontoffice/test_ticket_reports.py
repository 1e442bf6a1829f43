"""The ticket report: open tickets by age bucket and category, breaches by category within a
date range, and the median time to resolve per category within a date range."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from services.frontoffice.servicelevels.workers import step
from tests.conftest import connect_as, token
from tests.frontoffice.helpers import post_action, post_ticket

READ = token("tickets:read")


async def _report(client, **params):
    resp = await client.get("/v1/reports/tickets", params=params, headers=READ)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _ages(report, category):
    return next(r for r in report["open_by_age"] if r["category"] == category)


def _row(report, section, category):
    return next(r for r in report[section] if r["category"] == category)


async def test_open_tickets_by_age_and_category(frontoffice, settings):
    async with frontoffice() as (_, client):
        before = await _report(client)
        fresh = await post_ticket(client, category="insurance_question")
        week = await post_ticket(client, category="insurance_question")
        old = await post_ticket(client, category="insurance_question")
        gone = await post_ticket(client, category="insurance_question")
        await post_action(client, gone["id"], "resolve", {"resolution_code": "explained"})
        conn = await connect_as("frontoffice", settings)
        try:
            now = datetime.now(UTC)
            for ticket, age in ((week, 5), (old, 40)):
                await conn.execute(
                    "UPDATE tickets SET created_at = $1 WHERE id = $2",
                    now - timedelta(days=age),
                    ticket["id"],
                )
        finally:
            await conn.close()
        after = await _report(client)
    assert fresh["status"] == "new"
    a, b = _ages(after, "insurance_question"), _ages(before, "insurance_question")
    assert {k: a[k] - b[k] for k in ("0-2", "3-7", "8-30", ">30", "total")} == {
        "0-2": 1, "3-7": 1, "8-30": 0, ">30": 1, "total": 3,
    }  # fmt: skip
    assert after["open_total"] - before["open_total"] == 3


async def test_breaches_and_median_time_to_resolve_within_a_range(frontoffice, settings):
    # A day of its own, far ahead, so the range holds only this test's tickets.
    day = date(2090, 1, 1) + timedelta(days=random.randrange(3_600))  # inputs stop at 2100
    noon = datetime.combine(day, time(12), UTC)
    async with frontoffice(breach_batch=10_000) as (app, client):
        tickets = [await post_ticket(client, category="complaint") for _ in range(3)]
        for t in tickets:
            await post_action(client, t["id"], "resolve", {"resolution_code": "explained"})
        conn = await connect_as("frontoffice", settings)
        try:
            for t, hours in zip(tickets, (2, 10, 50), strict=True):
                await conn.execute(
                    "UPDATE tickets SET created_at = $1, resolved_at = $2 WHERE id = $3",
                    noon - timedelta(hours=hours), noon, t["id"],
                )  # fmt: skip
        finally:
            await conn.close()
        breached = await post_ticket(client, category="complaint")
        other_breached = await post_ticket(client, category="balance_question")
        while await step(app, noon):  # both are long past due at noon of that day
            pass
        report = await _report(client, date_from=day.isoformat(), date_to=day.isoformat())
        bad = await client.get(
            "/v1/reports/tickets", params={"date_from": "2030-01-02", "date_to": "2030-01-01"}, headers=READ
        )
    resolved = _row(report, "time_to_resolve", "complaint")
    assert resolved == {"category": "complaint", "resolved": 3, "median_hours": 10.0}
    assert _row(report, "time_to_resolve", "dispute") == {
        "category": "dispute",
        "resolved": 0,
        "median_hours": None,
    }
    # Breached at noon of that day: first breaches are dated by the worker's round.
    assert _row(report, "breaches", "complaint")["breaches"] >= 1
    assert _row(report, "breaches", "balance_question")["breaches"] >= 1
    assert report["breaches_total"] >= 2 and breached["id"] != other_breached["id"]
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.date_from"
