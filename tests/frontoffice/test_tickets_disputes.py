"""The ticket half of the story "Dispute": a dispute ticket on an account holds it from
statements and collections (account_hold.placed with holds_collections), resolving it releases
the hold (account_hold.released); the ticket shows its holds. Other categories hold nothing."""

from __future__ import annotations

from tests.conftest import end_offsets, read_from, unique
from tests.frontoffice.helpers import get_ticket, post_action, post_ticket, records_for


async def test_a_dispute_holds_the_account_until_resolved(frontoffice, servers):
    account = unique("acct")
    placed_from = await end_offsets(servers.kafka_bootstrap, "account_hold.placed")
    released_from = await end_offsets(servers.kafka_bootstrap, "account_hold.released")
    async with frontoffice() as (_, client):
        question = await post_ticket(client, account_id=account, category="balance_question")
        dispute = await post_ticket(client, account_id=account, category="dispute", channel="email")
        assert [h["released_at"] for h in dispute["holds"]] == [None]
        hold = dispute["holds"][0]
        assert hold["holds_statements"] and hold["holds_collections"] and hold["reason"] == "dispute"

        placed = await read_from(
            servers.kafka_bootstrap,
            "account_hold.placed",
            placed_from,
            until=lambda rs: bool(records_for(rs, account)),
        )
        (event,) = records_for(placed, account)
        assert event["source_id"] == dispute["id"] and event["hold_id"] == hold["id"]
        assert event["reason"] == "dispute"
        assert event["holds_collections"] is True and event["holds_statements"] is True
        assert event["patient_id"] == dispute["patient_id"]

        await post_action(client, dispute["id"], "assign", {"assignee_id": "staff-d"})
        await post_action(client, dispute["id"], "resolve", {"resolution_code": "withdrawn"})
        released = await read_from(
            servers.kafka_bootstrap,
            "account_hold.released",
            released_from,
            until=lambda rs: bool(records_for(rs, account)),
        )
        shown = await get_ticket(client, dispute["id"])
        untouched = await get_ticket(client, question["id"])
    (event,) = records_for(released, account)
    assert event["hold_id"] == hold["id"] and event["source_id"] == dispute["id"]
    assert event["outcome"] == "withdrawn" and event["reason"] == "dispute"
    assert shown["holds"][0]["released_at"] and shown["holds"][0]["outcome"] == "withdrawn"
    assert [n["kind"] for n in shown["notes"]].count("hold_released") == 1
    assert untouched["holds"] == []


async def test_a_reopened_dispute_holds_again_and_a_dispute_without_account_holds_nothing(
    frontoffice, servers
):
    account = unique("acct")
    placed_from = await end_offsets(servers.kafka_bootstrap, "account_hold.placed")
    async with frontoffice() as (_, client):
        dispute = await post_ticket(client, account_id=account, category="dispute")
        await post_action(client, dispute["id"], "resolve", {"resolution_code": "upheld"})
        await post_action(client, dispute["id"], "status", {"status": "open"})
        practice = await post_ticket(
            client, requester_kind="practice", requester_id=unique("practice"), category="dispute"
        )
        shown = await get_ticket(client, dispute["id"])
    placed = await read_from(
        servers.kafka_bootstrap,
        "account_hold.placed",
        placed_from,
        until=lambda rs: len(records_for(rs, account)) == 2,
    )
    assert len({e["hold_id"] for e in records_for(placed, account)}) == 2
    assert [h["released_at"] is None for h in shown["holds"]] == [False, True]
    assert practice["account_id"] is None and practice["holds"] == []
