"""Financial assistance applications against real PostgreSQL and Kafka: the must-show story
(150 % of the guideline → the 100 % tier, decided by one person, approved by another,
`financial_assistance.approved` with discount 100 and the account's collections hold placed then
released), self-approval refused, idempotent opening, sending a decision back, a denial."""

from __future__ import annotations

from typing import Any

from tests.conftest import end_offsets, read_from, token, unique
from tests.frontoffice.helpers import (
    CLERK,
    MANAGER,
    SECOND_MANAGER,
    kafka_offsets,
    make_screening,
    post_application,
    post_approval,
    post_decision,
    post_document,
    post_screening,
    put_policy,
    read_events,
)

TOPICS = ("account_hold.placed", "account_hold.released", "financial_assistance.approved")


async def screened(client: Any, **changes: Any) -> dict[str, Any]:
    """The sliding-scale policy in force and a screening of the must-show household."""
    assert (await put_policy(client)).status_code in (200, 201)  # 200: already set, by a test before
    resp = await post_screening(client, make_screening(**changes))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_150_percent_is_decided_by_one_approved_by_another_and_published(frontoffice, servers) -> None:
    start = await kafka_offsets(servers.kafka_bootstrap, TOPICS)
    async with frontoffice() as (_, client):
        screening = await screened(client)
        assert (screening["poverty_percent"], screening["discount_percent"]) == ("150.00", "100.00")
        opened = await post_application(client, screening)
        assert opened.status_code == 201, opened.text
        app = opened.json()
        account = app["account_id"]
        assert (app["status"], account) == ("open", screening["patient_id"])
        placed = await read_events(
            servers.kafka_bootstrap, "account_hold.placed", start["account_hold.placed"], account, count=1
        )
        assert (await post_document(client, app["id"])).status_code == 201
        decided = await post_decision(client, app["id"], MANAGER)
        assert decided.status_code == 200 and decided.json()["status"] == "decided", decided.text
        assert (decided.json()["tier"], decided.json()["discount_percent"]) == ("full", "100.00")

        self_approval = await post_approval(client, app["id"], MANAGER)
        assert self_approval.status_code == 403, self_approval.text
        assert self_approval.json()["errors"][0]["rule"] == "four_eyes"
        still = await client.get(f"/v1/assistance/applications/{app['id']}", headers=CLERK)
        assert still.json()["status"] == "decided" and still.json()["approved_by"] is None

        approved = await post_approval(client, app["id"], SECOND_MANAGER)
        assert approved.status_code == 200, approved.text
        final = approved.json()
        assert (final["status"], final["decided_by"], final["approved_by"]) == (
            "approved",
            "fa-manager",
            "fa-manager-2",
        )
        assert [d["kind"] for d in final["documents"]] == ["pay_stub"]

        [event] = await read_events(
            servers.kafka_bootstrap,
            "financial_assistance.approved",
            start["financial_assistance.approved"],
            account,
            count=1,
        )
        assert (event["discount_percent"], event["tier"], event["poverty_percent"]) == (
            "100.00",
            "full",
            "150.00",
        )
        assert (event["guidelines_year"], event["application_id"]) == (2025, app["id"])
        assert (event["decided_by"], event["approved_by"]) == ("fa-manager", "fa-manager-2")
        [released] = await read_events(
            servers.kafka_bootstrap, "account_hold.released", start["account_hold.released"], account, count=1
        )
        [hold] = placed
        assert (hold["reason"], hold["holds_statements"], hold["holds_collections"]) == (
            "financial_assistance",
            False,
            True,
        )
        assert (hold["source_id"], released["hold_id"], released["outcome"]) == (
            app["id"],
            hold["hold_id"],
            "approved",
        )


async def test_approval_needs_the_scope_and_a_decision(frontoffice) -> None:
    async with frontoffice() as (_, client):
        app = (await post_application(client, await screened(client))).json()
        too_early = await post_approval(client, app["id"], SECOND_MANAGER)
        no_document = await post_decision(client, app["id"], MANAGER)
        await post_document(client, app["id"], "attestation")
        await post_decision(client, app["id"], token("assistance:write", subject="fa-clerk-2"))
        clerk = await post_approval(client, app["id"], CLERK)  # no assistance:approve
        decided_twice = await post_decision(client, app["id"], MANAGER)
        unknown = await post_approval(client, "00000000-0000-4000-8000-000000000000", SECOND_MANAGER)
        assert too_early.status_code == 409 and too_early.json()["errors"][0]["rule"] == "decided"
        assert no_document.status_code == 409 and no_document.json()["errors"][0]["rule"] == "at_least_one"
        assert clerk.status_code == 403
        assert decided_twice.status_code == 409
        assert unknown.status_code == 404


async def test_opening_twice_with_one_key_places_one_hold(frontoffice, servers) -> None:
    start = await kafka_offsets(servers.kafka_bootstrap, TOPICS)
    key = unique("key")
    async with frontoffice() as (_, client):
        screening = await screened(client)
        first = await post_application(client, screening, key)
        second = await post_application(client, screening, key)
        # a later application on the same account: its own hold, so the first one's count shows
        later = await post_application(client, screening)
        assert first.status_code == second.status_code == 201
        assert second.json()["id"] == first.json()["id"] and second.headers["Idempotent-Replayed"] == "true"
        holds = await read_events(
            servers.kafka_bootstrap,
            "account_hold.placed",
            start["account_hold.placed"],
            first.json()["account_id"],
            count=2,
        )
        assert sorted(h["source_id"] for h in holds) == sorted([first.json()["id"], later.json()["id"]])


async def test_sent_back_then_denied_releases_the_hold_without_a_discount(frontoffice, servers) -> None:
    start = await kafka_offsets(servers.kafka_bootstrap, TOPICS)
    async with frontoffice() as (_, client):
        app = (await post_application(client, await screened(client, annual_income="150000"))).json()
        await post_document(client, app["id"], "tax_return")
        await post_decision(client, app["id"], MANAGER, tier="full", note="medical expenses")
        sent_back = await post_approval(
            client, app["id"], SECOND_MANAGER, approve=False, note="check the tax return"
        )
        assert sent_back.json()["status"] == "open" and sent_back.json()["decision"] is None
        override_without_note = await post_decision(client, app["id"], MANAGER, tier="full")
        denied = await post_decision(
            client, app["id"], MANAGER, decision="deny", note="income above the policy"
        )
        final = await post_approval(client, app["id"], SECOND_MANAGER)
        assert override_without_note.status_code == 409
        assert override_without_note.json()["errors"][0]["rule"] == "override_reason"
        assert denied.json()["status"] == "decided"
        assert (final.json()["status"], final.json()["discount_percent"]) == ("denied", None)
        [released] = await read_events(
            servers.kafka_bootstrap,
            "account_hold.released",
            start["account_hold.released"],
            app["account_id"],
            count=1,
        )
        assert released["outcome"] == "denied"
        # The outbox publishes a transaction's rows in order, an approval before the release: every
        # approval that could name this account is before the topic's end now.
        begin = start["financial_assistance.approved"]
        ends = await end_offsets(servers.kafka_bootstrap, "financial_assistance.approved")
        expected = sum(ends[tp] - begin.get(tp, 0) for tp in ends)
        records = []
        if expected:  # (a consumer stopped before its first poll trips aiokafka: read only when needed)
            records = await read_from(
                servers.kafka_bootstrap,
                "financial_assistance.approved",
                begin,
                until=lambda rs: len(rs) >= expected,
            )
        assert not [r for r in records if r.key == app["account_id"].encode()]


async def test_an_e_mail_user_id_decides_and_is_named_in_the_event(frontoffice, servers) -> None:
    """Staff ids of an identity provider are often e-mail addresses: the events name them
    (the contract's Actor), so such a user decides and approves like any other."""
    start = await kafka_offsets(servers.kafka_bootstrap, TOPICS)
    async with frontoffice() as (_, client):
        app = (await post_application(client, await screened(client))).json()
        await post_document(client, app["id"])
        jane = token("assistance:write", "assistance:approve", subject="jane@clinic.example")
        decided = await post_decision(client, app["id"], jane)
        approved = await post_approval(client, app["id"], SECOND_MANAGER)
        assert (decided.status_code, approved.status_code) == (200, 200), (decided.text, approved.text)
        [event] = await read_events(
            servers.kafka_bootstrap,
            "financial_assistance.approved",
            start["financial_assistance.approved"],
            app["account_id"],
            count=1,
        )
        assert (event["decided_by"], event["approved_by"]) == ("jane@clinic.example", "fa-manager-2")


async def test_a_retried_document_with_its_idempotency_key_is_recorded_once(frontoffice) -> None:
    async with frontoffice() as (_, client):
        app = (await post_application(client, await screened(client))).json()
        path = f"/v1/assistance/applications/{app['id']}/documents"
        body = {"kind": "tax_return", "received_date": "2025-06-02"}
        keyed = {**CLERK, "Idempotency-Key": unique("doc")}
        first = await client.post(path, json=body, headers=keyed)
        assert first.status_code == 201, first.text
        again = await client.post(path, json=body, headers=keyed)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        shown = await client.get(f"/v1/assistance/applications/{app['id']}", headers=CLERK)
    assert [d["id"] for d in shown.json()["documents"]] == [first.json()["id"]]
