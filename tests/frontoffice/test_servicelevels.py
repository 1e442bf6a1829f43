"""Service levels: due times per category (business days skip weekends), and the breach worker:
an unresolved ticket past due is escalated once per level (ticket.escalated to the category's
contact, then to the senior contact), a resolved one never, and two replicas escalate once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.frontoffice.servicelevels import domain
from services.frontoffice.servicelevels.workers import step
from tests.conftest import end_offsets, read_from, token
from tests.frontoffice.helpers import get_ticket, post_action, post_ticket, records_for

FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
CONTACTS = {"escalation_contacts": {"complaint": "complaints-lead"}, "senior_escalation_contact": "director"}


def test_due_times_per_category():
    assert domain.due_at("balance_question", FRIDAY) == FRIDAY + timedelta(days=4)  # Tuesday
    assert domain.due_at("complaint", FRIDAY) == FRIDAY + timedelta(days=7)  # next Friday
    assert domain.due_at("complaint", FRIDAY + timedelta(days=1)) == FRIDAY + timedelta(
        days=10
    )  # from Monday
    assert domain.due_at("dispute", FRIDAY) == FRIDAY + timedelta(days=30)
    assert set(domain.TARGETS) == {
        "balance_question", "insurance_question", "dispute", "complaint", "payment_arrangement",
        "financial_assistance",
    }  # fmt: skip
    assert domain.next_check("complaint", FRIDAY, 1) == FRIDAY + timedelta(days=7)
    assert domain.next_check("complaint", FRIDAY, domain.MAX_LEVEL) is None


async def _escalate_all(app, now):
    """Worker rounds at `now` until nothing is left (other tests' tickets may be due too)."""
    while await step(app, now):
        pass


async def test_a_breach_escalates_once_per_level_to_the_contacts(frontoffice, servers):
    start = await end_offsets(servers.kafka_bootstrap, "ticket.escalated")
    async with frontoffice(**CONTACTS) as (app, client):
        ticket = await post_ticket(client, category="complaint")
        tid = ticket["id"]
        await post_action(client, tid, "assign", {"assignee_id": "staff-e"})
        done = await post_ticket(client, category="complaint")
        await post_action(client, done["id"], "resolve", {"resolution_code": "duplicate"})
        due = datetime.fromisoformat(ticket["due_at"])

        await _escalate_all(app, due - timedelta(minutes=1))
        assert (await get_ticket(client, tid))["breach_level"] == 0  # not yet
        await _escalate_all(app, due + timedelta(minutes=1))
        await _escalate_all(app, due + timedelta(minutes=2))  # a later round: no second level-1
        first = await get_ticket(client, tid)
        second_due = domain.next_check("complaint", due, 1)
        assert second_due is not None
        await _escalate_all(app, second_due + timedelta(minutes=1))
        await _escalate_all(app, second_due + timedelta(days=365))  # there is no level 3
        last = await get_ticket(client, tid)
        untouched = await get_ticket(client, done["id"])
    assert first["breach_level"] == 1 and first["escalated_to"] == "complaints-lead" and first["breached_at"]
    assert last["breach_level"] == 2 and last["escalated_to"] == "director"
    assert last["breached_at"] == first["breached_at"]  # the first breach is kept
    assert untouched["breach_level"] == 0
    records = await read_from(
        servers.kafka_bootstrap, "ticket.escalated", start, until=lambda rs: len(records_for(rs, tid)) >= 2
    )
    events = records_for(records, tid)
    assert [(e["level"], e["escalated_to"]) for e in events] == [(1, "complaints-lead"), (2, "director")]
    assert events[0]["assignee_id"] == "staff-e" and events[0]["number"] == ticket["number"]
    assert records_for(records, done["id"]) == []


async def test_two_replicas_escalate_a_ticket_once(frontoffice, servers):
    start = await end_offsets(servers.kafka_bootstrap, "ticket.escalated")
    async with frontoffice(breach_batch=10_000) as (app, client):
        ticket = await post_ticket(client, category="payment_arrangement")
        due = datetime.fromisoformat(ticket["due_at"]) + timedelta(minutes=1)
        await asyncio.gather(step(app, due), step(app, due), step(app, due))
        shown = await get_ticket(client, ticket["id"])
    assert shown["breach_level"] == 1
    assert [n["kind"] for n in shown["notes"]].count("escalated") == 1
    records = await read_from(
        servers.kafka_bootstrap,
        "ticket.escalated",
        start,
        until=lambda rs: bool(records_for(rs, ticket["id"])),
    )
    # One note means one escalation: its event was staged in the same transaction.
    assert len(records_for(records, ticket["id"])) == 1


async def test_the_service_levels_are_listed(frontoffice):
    async with frontoffice(**CONTACTS) as (_, client):
        resp = await client.get("/v1/service-levels", headers=token("tickets:read"))
    assert resp.status_code == 200, resp.text
    levels = {s["category"]: s for s in resp.json()}
    assert levels["dispute"]["days"] == 30 and not levels["dispute"]["business_days"]
    assert levels["complaint"]["escalation_contact"] == "complaints-lead"
    assert levels["dispute"]["escalation_contact"] == "billing-manager"
    assert levels["dispute"]["senior_escalation_contact"] == "director"
