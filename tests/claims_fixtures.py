"""Claims the claims tests build on: one clean claim, and ways to spoil it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from shared.events import new_event
from shared.events.envelope import encode

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer
    from pydantic import BaseModel

BILLING_NPI = "1234567893"
RENDERING_NPI = "1245319599"


def recent(days_ago: int = 3) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


def clean_claim(patient_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A claim every edit passes (given an active eligibility check for its date)."""
    dos = recent()
    body: dict[str, Any] = {
        "patient_id": patient_id or f"pat-{uuid.uuid4().hex[:10]}",
        "subscriber": {
            "first_name": "Jane",
            "last_name": "Doe",
            "birth_date": "1980-02-03",
            "gender": "F",
            "member_id": "SBX10001",
            "group_number": "GRP100",
            "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"},
        },
        "relationship_code": "18",
        "payer_id": "SBX001",
        "billing_provider": {
            "npi": BILLING_NPI,
            "name": "Springfield Family Clinic",
            "taxonomy": "207Q00000X",
            "tax_id": "123456789",
            "address": {"line1": "2 Oak Ave", "city": "Springfield", "state": "IL", "postal_code": "62701"},
        },
        "rendering_provider": {
            "npi": RENDERING_NPI,
            "name": "Smith",
            "first_name": "Ann",
            "taxonomy": "207Q00000X",
        },
        "place_of_service": "11",
        "diagnoses": ["E11.9", "I10"],
        "lines": [
            {
                "code": "99213",
                "modifiers": ["25"],
                "units": "1",
                "charge": "125.00",
                "date_of_service": dos,
                "diagnosis_pointers": [1, 2],
            },
            {
                "code": "93000",
                "modifiers": ["59"],
                "units": "1",
                "charge": "50.00",
                "date_of_service": dos,
                "diagnosis_pointers": [2],
            },
        ],
    }
    body.update(overrides)
    return body


def spoiled(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the dotted `path` set to `value`."""
    result = copy.deepcopy(body)
    target: Any = result
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return result


async def _commit_end_offsets(bootstrap: str, group_id: str, topics: list[str]) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # or partitions_for_topic knows nothing yet
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        if partitions:
            ends = await consumer.end_offsets(partitions)
            consumer.assign(partitions)
            await consumer.commit({tp: offset for tp, offset in ends.items()})
    finally:
        await consumer.stop()


TEST_EHR_SOURCE = f"/partners/test-ehr-{uuid.uuid4().hex[:8]}"


async def publish(producer: AIOKafkaProducer, payload: BaseModel) -> None:
    """An event from this session's test EHR source (the claims consumer takes only those)."""
    topic, key, value, headers = encode(new_event(payload, source=TEST_EHR_SOURCE))
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)


async def event_for(bootstrap: str, topic: str, start: Any, key: str, timeout: float = 20.0) -> Any:
    """The decoded first record of `topic` after the offsets `start` whose key is `key`."""
    from tests.conftest import read_from  # not at import: bench/claims.py imports this module

    records = await read_from(
        bootstrap, topic, start, until=lambda rs: any(r.key == key.encode() for r in rs), timeout=timeout
    )
    return json.loads(next(r for r in records if r.key == key.encode()).value)


async def eligible(
    settings, patient_id: str, payer_id: str, dos: str, other_payers: list | None = None
) -> None:
    """Our copy of an active eligibility check, as the eligibility.checked handler would store it."""
    from tests.conftest import connect_as  # not at import: bench/claims.py imports this module

    conn = await connect_as("claims", settings)
    try:
        await conn.execute(
            "INSERT INTO eligibility_copies (check_id, patient_id, payer_id, status, date_of_service,"
            " coverage_start, coverage_end, other_payers, checked_at) VALUES (gen_random_uuid(), $1, $2,"
            " 'active', $3::text::date, '2020-01-01', '2099-12-31', $4::text::jsonb, now())",
            patient_id,
            payer_id,
            dos,
            json.dumps(other_payers or []),
        )
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def claims_consumer_from_now(settings: Any) -> Iterator[None]:
    """Start the claims consumer group of this test session at the end of its topics, and take
    encounters only from this session's test EHR source.

    The broker is shared: thousands of other people's encounter.completed events may be
    waiting there (or streaming in from a demo EHR), and each would become a claim that is
    submitted, before this test's own events are reached."""
    from services.claims import reference
    from services.claims.handlers import HANDLERS

    group = settings.consumer_group_prefix + "claims"
    asyncio.run(_commit_end_offsets(settings.kafka_bootstrap_servers, group, list(HANDLERS)))
    previous = os.environ.get("CLAIMS_ENCOUNTER_SOURCES")
    os.environ["CLAIMS_ENCOUNTER_SOURCES"] = TEST_EHR_SOURCE
    reference.reload()
    yield
    if previous is None:
        os.environ.pop("CLAIMS_ENCOUNTER_SOURCES", None)
    else:
        os.environ["CLAIMS_ENCOUNTER_SOURCES"] = previous
    reference.reload()


@contextlib.asynccontextmanager
async def claims_service(
    settings: Any, *, events: bool = True
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The claims app in process. With events, it returns once its consumer owns partitions
    (a group join can take seconds after another test's consumer left); without, it has no
    consumer at all, so API-only tests cause no group churn for the ones that need events."""
    from services.claims.service import SERVICE
    from shared.app import create_app

    definition = replace(SERVICE, handlers=SERVICE.handlers if events else {}, workers=[])
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        if events:
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://claims") as client:
            yield app, client


@pytest.fixture(name="claims")
def claims_fixture(settings: Any) -> Any:
    """`async with claims() as (app, client)`; `claims(events=False)` for API-only tests."""
    return lambda events=True: claims_service(settings, events=events)
