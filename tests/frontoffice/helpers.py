"""Builders and HTTP shortcuts of the front office tests (registry part)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from shared.kafka import KafkaAccess
from tests.conftest import end_offsets, read_from, unique

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


async def offsets(kafka: str | KafkaAccess, topic: str) -> Any:
    """Where `topic` ends now (read events published after this)."""
    return await end_offsets(kafka, topic)


async def read_events(
    kafka: str | KafkaAccess, topic: str, start: Any, key: str, *, count: int = 1
) -> list[dict[str, Any]]:
    """The payloads of the first `count` records of `topic` after `start` keyed `key`."""

    def mine(records: list[Any]) -> list[Any]:
        return [r for r in records if r.key == key.encode()]

    records = await read_from(kafka, topic, start, until=lambda rs: len(mine(rs)) >= count)
    return [json.loads(r.value) for r in mine(records)]
