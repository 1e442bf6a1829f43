"""Plain helpers of the front office tests: tokens, builders and HTTP shortcuts."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import token, unique

# --- tickets (the tickets part) -------------------------------------------------------------

TICKETS_READ = token("tickets:read", subject="clerk-1")
TICKETS_WRITE = token("tickets:read", "tickets:write", subject="clerk-1")


def make_ticket(**changes: Any) -> dict[str, Any]:
    """A patient's balance question by phone, about their own account; `changes` override."""
    patient = changes.pop("patient", None) or unique("pat")
    body = {
        "requester_kind": "patient",
        "requester_id": patient,
        "channel": "phone",
        "category": "balance_question",
        "subject": "Question about my bill",
        "description": "Jane Doe (DOB 1961-04-12) asks why her E11.9 visit was not covered.",
    }
    return {**body, **changes}


async def post_ticket(client: Any, headers: dict[str, str] | None = None, **changes: Any) -> dict[str, Any]:
    resp = await client.post("/v1/tickets", json=make_ticket(**changes), headers=headers or TICKETS_WRITE)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def get_ticket(client: Any, ticket_id: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/tickets/{ticket_id}", headers=TICKETS_READ)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def post_action(
    client: Any, ticket_id: str, action: str, body: dict[str, Any], expect: int = 200
) -> Any:
    """POST /v1/tickets/{id}/{action} (assign, notes, status, resolve), expecting `expect`."""
    resp = await client.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=TICKETS_WRITE)
    assert resp.status_code == expect, resp.text
    return resp.json()


def records_for(records: list[Any], key: str) -> list[dict[str, Any]]:
    """The JSON payloads of Kafka `records` keyed by `key` (a ticket or account id)."""
    return [json.loads(r.value) for r in records if r.key is not None and r.key.decode() == key]
