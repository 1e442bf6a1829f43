"""Plain helpers of the front office tests: tokens, builders `make_<thing>`, HTTP shortcuts
`post_<thing>`/`get_<thing>`."""

from __future__ import annotations

import json
from typing import Any

import httpx
from aiokafka import TopicPartition

from shared.kafka import KafkaAccess
from tests.conftest import end_offsets, read_from, token, unique

# --- financial assistance and financing (the assistance part) ------------------------------

# The example policy of docs/financial-assistance.md: a sliding scale by % of the guideline.
SLIDING_SCALE = [
    {"tier": "full", "up_to_percent": "200.00", "discount_percent": "100.00"},
    {"tier": "three_quarters", "up_to_percent": "300.00", "discount_percent": "75.00"},
    {"tier": "half", "up_to_percent": "400.00", "discount_percent": "50.00"},
]
CLERK = token("assistance:read", "assistance:write", subject="fa-clerk")
# A manager holds every assistance scope (so a refusal of self-approval is the four-eyes rule,
# not a missing scope).
MANAGER = token("assistance:read", "assistance:write", "assistance:approve", subject="fa-manager")
SECOND_MANAGER = token("assistance:read", "assistance:write", "assistance:approve", subject="fa-manager-2")


def make_screening(**changes: Any) -> dict[str, Any]:
    """The must-show household: 3 people in 2025 (guideline $26,650), income $39,975 = 150 %."""
    return {
        "patient_id": unique("pat"),
        "household_size": 3,
        "annual_income": "39975.00",
        "state": "NY",
        "screening_date": "2025-06-01",
    } | changes


async def put_policy(
    client: httpx.AsyncClient, tiers: list[dict[str, Any]] | None = None, effective: str = "2025-01-01"
) -> httpx.Response:
    """A policy version (the sliding scale by default), set by a manager."""
    body = {"effective_date": effective, "tiers": tiers or SLIDING_SCALE}
    return await client.put("/v1/assistance/policy", json=body, headers=MANAGER)


async def post_screening(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/assistance/screenings", json=body, headers=CLERK)


async def post_application(
    client: httpx.AsyncClient, screening: dict[str, Any], key: str | None = None
) -> httpx.Response:
    body = {"patient_id": screening["patient_id"], "screening_id": screening["id"]}
    headers = {**CLERK, "Idempotency-Key": key or unique("key")}
    return await client.post("/v1/assistance/applications", json=body, headers=headers)


async def post_document(
    client: httpx.AsyncClient, application_id: str, kind: str = "pay_stub"
) -> httpx.Response:
    body = {"kind": kind, "received_date": "2025-06-02"}
    return await client.post(
        f"/v1/assistance/applications/{application_id}/documents", json=body, headers=CLERK
    )


async def post_decision(
    client: httpx.AsyncClient, application_id: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    body = {"decision": "approve"} | body
    return await client.post(
        f"/v1/assistance/applications/{application_id}/decision", json=body, headers=headers
    )


async def post_approval(
    client: httpx.AsyncClient, application_id: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/assistance/applications/{application_id}/approval", json=body, headers=headers
    )


async def kafka_offsets(kafka: Any, topics: tuple[str, ...]) -> dict[str, dict[TopicPartition, int]]:
    """Where each topic ends now, to read only what a test causes."""
    return {t: await end_offsets(kafka, t) for t in topics}


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


# --- the registry (the registry part) ------------------------------------------------------

WRITE = ("patients:read", "patients:write")


def make_patient(patient_id: str | None = None, **demographics: Any) -> dict[str, Any]:
    """A registration body; demographics override the defaults."""
    person = {
        "first_name": "Maria",
        "last_name": "Lopez",
        "birth_date": "1984-03-09",
        "sex": "F",
        "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
        "phone": "2175550100",
        "email": "maria@example.org",
        **demographics,
    }
    return {"patient_id": patient_id or unique("P"), "patient": person}


def make_coverage(**fields: Any) -> dict[str, Any]:
    """A coverage to add; fields override the defaults (a primary since 2026-01-01)."""
    return {
        "order": "primary",
        "payer_id": "AETNA",
        "plan": "Choice POS II",
        "member_id": "W123456789",
        "group_number": "GRP-100",
        "effective_date": "2026-01-01",
        **fields,
    }


async def post_patient(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/v1/patients", json=body, headers=headers)


async def get_patient(client: httpx.AsyncClient, headers: dict[str, str], patient_id: str) -> httpx.Response:
    return await client.get(f"/v1/patients/{patient_id}", headers=headers)


async def patch_patient(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    patient_id: str,
    body: dict[str, Any],
    etag: str | None,
) -> httpx.Response:
    extra = {"If-Match": etag} if etag is not None else {}
    return await client.patch(f"/v1/patients/{patient_id}", json=body, headers={**headers, **extra})


async def get_history(
    client: httpx.AsyncClient, headers: dict[str, str], patient_id: str
) -> list[dict[str, Any]]:
    resp = await client.get(f"/v1/patients/{patient_id}/history", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def post_coverage(
    client: httpx.AsyncClient, headers: dict[str, str], patient_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/v1/patients/{patient_id}/coverages", json=body, headers=headers)


async def patch_coverage(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    patient_id: str,
    coverage_id: str,
    body: dict[str, Any],
    etag: str,
) -> httpx.Response:
    return await client.patch(
        f"/v1/patients/{patient_id}/coverages/{coverage_id}", json=body, headers={**headers, "If-Match": etag}
    )


async def read_events(
    kafka: str | KafkaAccess, topic: str, start: Any, key: str, *, count: int = 1
) -> list[dict[str, Any]]:
    """The payloads of the first `count` records of `topic` after `start` keyed `key`."""

    def mine(records: list[Any]) -> list[Any]:
        return [r for r in records if r.key == key.encode()]

    records = await read_from(kafka, topic, start, until=lambda rs: len(mine(rs)) >= count)
    return [json.loads(r.value) for r in mine(records)]
