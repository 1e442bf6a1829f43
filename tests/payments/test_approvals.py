"""Second-person approval through the real API and SQL (practice policy: money moves above a
threshold need four eyes). The sub-domains' own kinds (adjustments, denial write-offs,
cross-payer matches) are tested where they live; here a kind that records what it ran shows
the mechanism itself: the requester cannot approve, a command runs once, a rejected one never."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from services.payments.approvals import usecases as approvals
from tests.conftest import running_service, token, unique

RAN: list[dict[str, Any]] = []


@approvals.executor("test_record")
async def _record(session: Any, command: dict[str, Any], approval: Any) -> dict[str, Any]:
    RAN.append(command)
    return {"ran": command["n"], "requested_by": approval.requested_by}


ASKER = token("payments:read", "payments:write", "payments:approve", subject="clerk-a")
APPROVER = token("payments:read", "payments:approve", subject="manager-b")
READER = token("payments:read", subject="reader-c")


@pytest.fixture(scope="module")
async def payments(settings):
    async with running_service("payments", settings) as (app, client):
        yield app, client


async def request(app: Any, n: int) -> str:
    db = app.state.db
    async with db.session() as session, session.begin():
        row = await approvals.request_approval(
            session,
            kind="test_record",
            subject=unique("acct"),
            command={"n": n},
            summary={"amount": "150.00"},
            reason="patient goodwill",
            actor="clerk-a",
        )
    return str(row.id)


async def test_the_requester_cannot_approve_and_a_second_person_runs_it_once(payments):
    app, client = payments
    approval_id = await request(app, 1)

    own = await client.post(f"/v1/approvals/{approval_id}/approve", headers=ASKER)
    assert own.status_code == 403 and own.json()["errors"][0]["rule"] == "four_eyes"
    no_scope = await client.post(f"/v1/approvals/{approval_id}/approve", headers=READER)
    assert no_scope.status_code == 403

    answers = await asyncio.gather(
        *(client.post(f"/v1/approvals/{approval_id}/approve", headers=APPROVER) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert [c for c in RAN if c == {"n": 1}] == [{"n": 1}]
    done = (await client.get(f"/v1/approvals/{approval_id}", headers=READER)).json()
    assert done["status"] == "approved" and done["decided_by"] == "manager-b"
    assert done["result"] == {"ran": 1, "requested_by": "clerk-a"}


async def test_a_rejected_command_never_runs_and_the_queue_shows_what_waits(payments):
    app, client = payments
    waiting, rejected = await request(app, 2), await request(app, 3)
    queue = (await client.get("/v1/approvals?kind=test_record&limit=500", headers=READER)).json()["items"]
    ids = [i["id"] for i in queue]
    assert waiting in ids and rejected in ids and all(i["status"] == "pending" for i in queue)

    no = await client.post(f"/v1/approvals/{rejected}/reject", headers=APPROVER, json={"note": "not policy"})
    assert no.status_code == 200 and no.json()["status"] == "rejected"
    late = await client.post(f"/v1/approvals/{rejected}/approve", headers=APPROVER)
    assert late.status_code == 409
    assert {"n": 3} not in RAN
    missing = await client.get("/v1/approvals/00000000-0000-0000-0000-000000000000", headers=READER)
    assert missing.status_code == 404


async def test_an_approval_whose_kind_this_release_cannot_run_is_a_409_and_stays_pending(payments):
    """Found by the fuzzing run: a waiting approval of a kind no executor runs (a retired
    command, or one only another process knows) answered 500 on approve."""
    app, client = payments
    approval_id = await request(app, 4)
    async with app.state.db.session() as session, session.begin():  # its command was retired since
        await session.execute(
            text("UPDATE approvals SET kind = 'retired_kind' WHERE id = :id"), {"id": approval_id}
        )
    answer = await client.post(f"/v1/approvals/{approval_id}/approve", headers=APPROVER)
    assert answer.status_code == 409, answer.text
    assert answer.json()["errors"][0] == {
        "field": "kind",
        "rule": "known_kind",
        "message": "No such command is known.",
    }
    assert (await client.get(f"/v1/approvals/{approval_id}", headers=READER)).json()["status"] == "pending"
