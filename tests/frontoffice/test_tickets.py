"""Tickets: numbers, idempotent creation per caller, the list's filters and paging, the state
machine, notes, assignment (ticket.assigned) and resolution (ticket.resolved) with no free
text in any event."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import pytest

from services.frontoffice.tickets import domain
from tests.conftest import end_offsets, read_from, token, unique
from tests.frontoffice.helpers import (
    TICKETS_READ,
    TICKETS_WRITE,
    get_ticket,
    make_ticket,
    post_action,
    post_ticket,
    records_for,
)

# --- the state machine, as data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("new", "open", True),
        ("new", "closed", False),
        ("open", "waiting_on_patient", True),
        ("waiting_on_patient", "waiting_on_payer", True),
        ("waiting_on_payer", "open", True),
        ("open", "resolved", False),  # only through /resolve, with a code
        ("resolved", "open", True),  # reopen
        ("resolved", "closed", True),
        ("closed", "open", False),
    ],
)
def test_status_moves(current, target, allowed):
    assert domain.can_move(current, target) is allowed


def test_resolution_codes_are_described_and_resolving_needs_an_open_ticket():
    assert {
        "explained",
        "corrected",
        "adjusted",
        "refunded",
        "upheld",
        "withdrawn",
        "duplicate",
        "referred",
    } <= set(domain.RESOLUTIONS)
    assert all(r.description for r in domain.RESOLUTIONS.values())
    assert domain.can_resolve("new") and domain.can_resolve("waiting_on_payer")
    assert not domain.can_resolve("resolved") and not domain.can_resolve("closed")


# --- the API ----------------------------------------------------------------------------------


async def test_a_ticket_gets_a_number_a_due_time_and_its_links(frontoffice):
    claim, statement = uuid.uuid4(), uuid.uuid4()
    async with frontoffice() as (_, client):
        first = await post_ticket(client, claim_ids=[str(claim)], statement_ids=[str(statement)])
        second = await post_ticket(client, category="complaint", channel="email")
    assert re.fullmatch(r"T-\d{6}", first["number"])
    assert int(second["number"][2:]) > int(first["number"][2:])
    assert first["status"] == "new" and first["patient_id"] == first["requester_id"]
    assert first["account_id"] == first["patient_id"]  # the patient's account by default
    assert first["claim_ids"] == [str(claim)] and first["statement_ids"] == [str(statement)]
    opened = datetime.fromisoformat(first["created_at"])
    # balance question: 2 business days
    assert timedelta(days=2) <= datetime.fromisoformat(first["due_at"]) - opened <= timedelta(days=4)
    assert [n["kind"] for n in first["notes"]] == ["created"]


async def test_idempotency_key_replays_for_the_same_caller_only(frontoffice):
    body = make_ticket()
    key = {"Idempotency-Key": unique("key")}
    other = token("tickets:read", "tickets:write", subject="clerk-2")
    async with frontoffice() as (_, client):
        a = await client.post("/v1/tickets", json=body, headers={**TICKETS_WRITE, **key})
        b = await client.post("/v1/tickets", json=body, headers={**TICKETS_WRITE, **key})
        c = await client.post("/v1/tickets", json=body, headers={**other, **key})
        changed = await client.post(
            "/v1/tickets", json={**body, "channel": "portal"}, headers={**TICKETS_WRITE, **key}
        )
    assert a.status_code == b.status_code == c.status_code == 201
    assert b.headers["Idempotent-Replayed"] == "true" and b.json()["id"] == a.json()["id"]
    assert c.json()["id"] != a.json()["id"]  # another caller's key is another key
    assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "header.Idempotency-Key"


async def test_bad_input_names_the_field_without_echoing_it(frontoffice):
    async with frontoffice() as (_, client):
        resp = await client.post("/v1/tickets", json=make_ticket(category="gossip"), headers=TICKETS_WRITE)
        missing = await client.get(f"/v1/tickets/{uuid.uuid4()}", headers=TICKETS_READ)
        refused = await client.post("/v1/tickets", json=make_ticket(), headers=TICKETS_READ)
    assert resp.status_code == 422
    assert any(e["field"].endswith("category") for e in resp.json()["errors"])
    assert "gossip" not in resp.text
    assert missing.status_code == 404
    assert refused.status_code == 403


async def test_list_filters_and_pages(frontoffice):
    account = unique("acct")
    async with frontoffice() as (_, client):
        ids = [
            (await post_ticket(client, account_id=account, category=c))["id"]
            for c in ("dispute", "complaint", "complaint")
        ]
        await post_action(client, ids[1], "assign", {"assignee_id": "staff-a"})

        async def listed(**params):
            resp = await client.get("/v1/tickets", params=params, headers=TICKETS_READ)
            assert resp.status_code == 200, resp.text
            return resp.json()

        everything = await listed(account_id=account)
        complaints = await listed(account_id=account, category="complaint")
        opened = await listed(account_id=account, status="open")
        mine = await listed(account_id=account, assignee_id="staff-a")
        page1 = await listed(account_id=account, limit=2)
        page2 = await listed(account_id=account, limit=2, cursor=page1["next_cursor"])
    assert [t["id"] for t in everything["items"]] == ids[::-1]  # newest first
    assert {t["id"] for t in complaints["items"]} == set(ids[1:])
    assert [t["id"] for t in opened["items"]] == [ids[1]] == [t["id"] for t in mine["items"]]
    assert [t["id"] for t in page1["items"] + page2["items"]] == ids[::-1] and page2["next_cursor"] is None
    assert "description" not in everything["items"][0]  # the list shows no free text


async def test_working_a_ticket_publishes_assigned_and_resolved_without_free_text(frontoffice, servers):
    assigned_from = await end_offsets(servers.kafka_bootstrap, "ticket.assigned")
    resolved_from = await end_offsets(servers.kafka_bootstrap, "ticket.resolved")
    async with frontoffice() as (_, client):
        ticket = await post_ticket(client, category="insurance_question")
        tid = ticket["id"]
        assigned = await post_action(client, tid, "assign", {"assignee_id": "staff-b"})
        assert assigned["status"] == "open" and assigned["assignee_id"] == "staff-b"
        await post_action(client, tid, "status", {"status": "waiting_on_payer"})
        await post_action(client, tid, "status", {"status": "closed"}, expect=409)
        await post_action(client, tid, "notes", {"body": "Called the payer, ref 123."}, expect=201)
        await post_action(client, tid, "resolve", {"resolution_code": "shrugged"}, expect=422)
        resolved = await post_action(client, tid, "resolve", {"resolution_code": "explained", "note": "ok"})
        await post_action(client, tid, "resolve", {"resolution_code": "explained"}, expect=409)
        reopened = await post_action(client, tid, "status", {"status": "open"})
        assert reopened["resolution_code"] is None and reopened["breach_level"] == 0
        await post_action(client, tid, "resolve", {"resolution_code": "corrected"})
        closed = await post_action(client, tid, "status", {"status": "closed"})
        await post_action(client, tid, "status", {"status": "open"}, expect=409)
        shown = await get_ticket(client, tid)
    assert resolved["status"] == "resolved" and resolved["resolution_code"] == "explained"
    assert closed["status"] == "closed" and closed["closed_at"]
    kinds = [n["kind"] for n in shown["notes"]]
    assert kinds[:4] == ["created", "assigned", "status", "note"] and kinds.count("resolved") == 2

    a = await read_from(
        servers.kafka_bootstrap, "ticket.assigned", assigned_from, until=lambda rs: bool(records_for(rs, tid))
    )
    r = await read_from(
        servers.kafka_bootstrap,
        "ticket.resolved",
        resolved_from,
        until=lambda rs: len(records_for(rs, tid)) == 2,
    )
    (event,) = records_for(a, tid)
    assert event["number"] == ticket["number"] and event["assignee_id"] == "staff-b"
    assert event["assigned_by"] == "clerk-1" and event["category"] == "insurance_question"
    first, second = records_for(r, tid)
    assert (first["resolution_code"], second["resolution_code"]) == ("explained", "corrected")
    assert first["requester_kind"] == "patient" and first["patient_id"] == ticket["patient_id"]
    for record in a + r:
        value = record.value.decode()
        for text in ("Question about my bill", "Jane", "1961-04-12", "E11.9", "ref 123"):
            assert text not in value


async def test_a_retried_note_with_its_idempotency_key_is_added_once(frontoffice):
    async with frontoffice() as (_, client):
        tid = (await post_ticket(client))["id"]
        keyed = {**TICKETS_WRITE, "Idempotency-Key": unique("note")}
        body = {"body": "Patient asked for an itemised bill."}
        first = await client.post(f"/v1/tickets/{tid}/notes", json=body, headers=keyed)
        assert first.status_code == 201, first.text
        again = await client.post(f"/v1/tickets/{tid}/notes", json=body, headers=keyed)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        missing = await client.post(f"/v1/tickets/{uuid.uuid4()}/notes", json=body, headers=TICKETS_WRITE)
        assert missing.status_code == 404, missing.text
        shown = await get_ticket(client, tid)
    assert [n["id"] for n in shown["notes"] if n["kind"] == "note"] == [first.json()["id"]]
