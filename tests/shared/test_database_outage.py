"""A PostgreSQL outage mid-consume (issue 16, item 1): transient is not poison.

Each service runs in process with its real handlers and its own consumer group, talking to
PostgreSQL through a TCP proxy that the test cuts for REVCYCLE_OUTAGE_SECONDS (30 s by default)
while events keep arriving. Afterwards every event's effect exists exactly once, nothing of the
group reached a dead-letter topic, and readiness said why consumption had paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import BaseModel

from shared.config import SERVICE_NAMES, Settings
from shared.consumer import dlq_headers
from shared.events import Event, new_event
from shared.events.catalogue import (
    ClaimLineSummary,
    ClaimSubmitted,
    Coverage,
    EncounterCompleted,
    EncounterLine,
    PaymentPosted,
    Person,
    dlq_topic,
)
from shared.events.frontoffice import DiscrepancyField, DiscrepancyFound
from tests.conftest import (
    encode_signed,
    end_offsets,
    eventually,
    running_service,
    service_definition,
    start_group_at_end,
    token,
    unique,
)
from tests.shared.helpers import TcpProxy, claims_take_encounters_from, committed_offsets, records_between

OUTAGE_SECONDS = float(os.environ.get("REVCYCLE_OUTAGE_SECONDS", "30"))
EVENTS_PER_SECOND = 10
SOURCE = f"/partners/outage-test-{uuid.uuid4().hex[:8]}"


@dataclass
class Load:
    """What one service is fed during the outage and how its effects are counted."""

    topic: str
    make: Callable[[int], BaseModel]
    # (admin connection, events sent) -> per event id, how many times its effect exists
    effects: Callable[[asyncpg.Connection, list[Event]], Awaitable[dict[uuid.UUID, int]]]
    # prepared once the service runs (an authorization to count visits against ...)
    context: dict[str, Any]


def _by(events: list[Event], keys: list[str], rows: list[asyncpg.Record]) -> dict[uuid.UUID, int]:
    counts = {str(r[0]): r[1] for r in rows}
    return {e.id: counts.get(k, 0) for e, k in zip(events, keys, strict=True)}


# --- claims: encounters become claims ---------------------------------------------------------


def _encounter(_: int) -> EncounterCompleted:
    return EncounterCompleted(
        encounter_id=unique("enc"),
        patient_id=unique("opat"),
        payer_id="SBX001",
        billing_provider_npi="1234567893",
        date_of_service=date.today() - timedelta(days=3),
        place_of_service="11",
        diagnoses=["E11.9"],
        lines=[EncounterLine(code="99213", charge=Decimal("125.00"))],
        patient=Person(first_name="Ann", last_name="Lee", birth_date=date(1970, 3, 4), gender="F"),
        coverages=[Coverage(payer_id="SBX001", member_id="SBX10001")],
    )


async def _claims_made(admin: asyncpg.Connection, events: list[Event]) -> dict[uuid.UUID, int]:
    keys = [e.data.encounter_id for e in events]  # type: ignore[attr-defined]
    rows = await admin.fetch(
        "SELECT encounter_id, count(*) FROM claims.claims WHERE encounter_id = ANY($1) GROUP BY 1", keys
    )
    return _by(events, keys, rows)


# --- payments: submitted claims put their charges on the account ------------------------------


def _submitted(_: int, number: str | None = None, patient: str | None = None) -> ClaimSubmitted:
    claim_id = uuid.uuid4()
    dos = date.today() - timedelta(days=2)
    account = unique("oacct")
    return ClaimSubmitted(
        claim_id=claim_id,
        patient_control_number="O" + claim_id.hex[:16].upper(),
        patient_id=patient or account,
        account_id=account,
        payer_id="SBX001",
        total_charge=Decimal("60.00"),
        x12_837="ISA*...",
        submitted_at=datetime.now(UTC),
        date_of_service=dos,
        lines=[
            ClaimLineSummary(
                line_number=1,
                code="97110",
                charge=Decimal("60.00"),
                date_of_service=dos,
                prior_authorization_number=number,
            )
        ],
    )


async def _charges(admin: asyncpg.Connection, events: list[Event]) -> dict[uuid.UUID, int]:
    keys = [e.data.account_id for e in events]  # type: ignore[attr-defined]
    rows = await admin.fetch(
        "SELECT account_id, count(*) FROM payments.ledger_entries "
        "WHERE account_id = ANY($1) AND entry_type = 'charge' GROUP BY 1",
        keys,
    )
    return _by(events, keys, rows)


# --- eligibility: submitted claims use authorized visits --------------------------------------


async def _visits(admin: asyncpg.Connection, events: list[Event]) -> dict[uuid.UUID, int]:
    keys = [str(e.data.claim_id) for e in events]  # type: ignore[attr-defined]
    rows = await admin.fetch(
        "SELECT claim_id::text, count(*) FROM eligibility.authorization_visits "
        "WHERE claim_id = ANY($1::text[]::uuid[]) GROUP BY 1",
        keys,
    )
    return _by(events, keys, rows)


# --- gateway: submitted claims are queued for a clearinghouse's file --------------------------


def _for_gateway(i: int) -> ClaimSubmitted:
    """A claim.submitted whose 837 the gateway can route (ISA08 no partner takes: kept as ignored)."""
    from tests.gateway.helpers import make_837

    submitted = _submitted(i)
    return submitted.model_copy(
        update={"x12_837": make_837("OUTAGETEST", submitted.patient_control_number[:17])}
    )


async def _queued(admin: asyncpg.Connection, events: list[Event]) -> dict[uuid.UUID, int]:
    keys = [str(e.id) for e in events]
    rows = await admin.fetch(
        "SELECT event_id::text, count(*) FROM gateway.outbound_claims "
        "WHERE event_id = ANY($1::text[]::uuid[]) GROUP BY 1",
        keys,
    )
    return _by(events, keys, rows)


# --- notifications: payments are announced ----------------------------------------------------


def _payment(_: int) -> PaymentPosted:
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="patient",
        account_id=unique("oacct"),
        amount=Decimal("12.50"),
        method="card",
        posted_at=datetime.now(UTC),
        receipt_number="R-OUTAGE",
    )


async def _messages(admin: asyncpg.Connection, events: list[Event]) -> dict[uuid.UUID, int]:
    keys = [str(e.id) for e in events]
    rows = await admin.fetch(
        "SELECT cause_event_id::text, count(*) FROM notifications.inbox_messages "
        "WHERE cause_event_id = ANY($1::text[]::uuid[]) GROUP BY 1",
        keys,
    )
    return _by(events, keys, rows)


# --- frontoffice: a 271's disagreement opens a discrepancy ------------------------------------


def _discrepancy(_: int) -> DiscrepancyFound:
    return DiscrepancyFound(
        check_id=uuid.uuid4(),
        patient_id=unique("opat"),
        payer_id="SBX001",
        registry_revision=1,
        fields=[DiscrepancyField(field="birth_date", registry_value="1970-03-04", payer_value="1970-04-03")],
        found_at=datetime.now(UTC),
    )


async def _discrepancies(admin: asyncpg.Connection, events: list[Event]) -> dict[uuid.UUID, int]:
    keys = [str(e.data.check_id) for e in events]  # type: ignore[attr-defined]
    rows = await admin.fetch(
        "SELECT check_id::text, count(*) FROM frontoffice.discrepancies "
        "WHERE check_id = ANY($1::text[]::uuid[]) GROUP BY 1",
        keys,
    )
    return _by(events, keys, rows)


def _load(service: str) -> Load:
    context: dict[str, Any] = {}
    if service == "claims":
        return Load("encounter.completed", _encounter, _claims_made, context)
    if service == "payments":
        return Load("claim.submitted", _submitted, _charges, context)
    if service == "gateway":
        return Load("claim.submitted", _for_gateway, _queued, context)
    if service == "eligibility":
        return Load(
            "claim.submitted",
            lambda i: _submitted(i, context["number"], context["patient"]),
            _visits,
            context,
        )
    if service == "frontoffice":
        return Load("eligibility.discrepancy_found", _discrepancy, _discrepancies, context)
    return Load("payment.posted", _payment, _messages, context)


async def _prepare(service: str, client: httpx.AsyncClient, load: Load) -> None:
    """Eligibility counts visits only against an authorization on file: record one."""
    if service != "eligibility":
        return
    today = date.today()
    body = {
        "patient_id": unique("opat"),
        "payer_id": "SBX001",
        "number": unique("PA").upper(),
        "service_codes": ["97110"],
        "start_date": (today - timedelta(days=30)).isoformat(),
        "end_date": (today + timedelta(days=30)).isoformat(),
    }
    created = await client.post(
        "/v1/authorizations", json=body, headers=token("eligibility:write", "eligibility:read")
    )
    assert created.status_code == 201, created.text
    load.context["number"], load.context["patient"] = body["number"], body["patient_id"]


class Publisher:
    """Publishes one event every 1/EVENTS_PER_SECOND s until stopped, as partners do."""

    def __init__(self, producer: Any, load: Load) -> None:
        self.producer, self.load = producer, load
        self.sent: list[Event] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            event = new_event(self.load.make(len(self.sent)), source=SOURCE)
            topic, key, value, headers = encode_signed(event)
            await self.producer.send_and_wait(topic, value=value, key=key, headers=headers)
            self.sent.append(event)
            await asyncio.sleep(1 / EVENTS_PER_SECOND)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _readiness_during(client: httpx.AsyncClient, seconds: float) -> list[dict[str, Any]]:
    """Readiness answers seen while the database is away, once a second."""
    seen = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        seen.append((await client.get("/health/ready")).json())
        await asyncio.sleep(1)
    return seen


# Every service that consumes events: one that consumes nothing (the front office's skeleton,
# issue 19) has no group to pause. A service that starts consuming joins here and needs a Load.
CONSUMING = [name for name in SERVICE_NAMES if service_definition(name).handlers]


@pytest.mark.parametrize("service", CONSUMING)
async def test_a_database_outage_mid_consume_pauses_the_group_and_loses_nothing(
    service, settings: Settings, servers, producer, admin
):
    load = _load(service)
    group_prefix = f"outage-{uuid.uuid4().hex[:8]}-"
    group = group_prefix + service
    dlq = dlq_topic(load.topic)
    # The group starts at the end of every topic it reads: the broker is shared, and other
    # people's history is not this test's load.
    handlers = list(service_definition(service).handlers)
    await start_group_at_end(servers.kafka_bootstrap, group, handlers)
    dlq_start = await end_offsets(servers.kafka_bootstrap, dlq)
    publisher = Publisher(producer, load)
    async with TcpProxy.in_front_of(settings.database_url) as proxy:
        proxied = settings.model_copy(
            update={"database_url": proxy.url(settings.database_url), "consumer_group_prefix": group_prefix}
        )
        with claims_take_encounters_from(SOURCE) if service == "claims" else contextlib.nullcontext():
            async with running_service(service, proxied) as (app, client):
                await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
                await _prepare(service, client, load)
                publisher.start()
                # Mid-load: the group is handling events when the database goes away.
                await eventually(
                    lambda: _handled_some(admin, load, publisher.sent), timeout=60, what="first effects"
                )
                await proxy.cut()
                readiness = await _readiness_during(client, OUTAGE_SECONDS)
                await proxy.restore()
                await asyncio.sleep(2)
                await publisher.stop()
                end = await end_offsets(servers.kafka_bootstrap, load.topic)
                await eventually(
                    lambda: _caught_up(servers.kafka_bootstrap, group, end),
                    timeout=120,
                    what="group caught up",
                )
    parked = [
        r
        for r in await records_between(servers.kafka_bootstrap, dlq, dlq_start)
        if dlq_headers(r).get("dlq_consumer_group") == group
    ]
    assert not parked, f"{len(parked)} events dead-lettered during a database outage: " + ", ".join(
        sorted({dlq_headers(r)["dlq_error"] for r in parked})
    )
    effects = await load.effects(admin, publisher.sent)
    wrong = {str(k): n for k, n in effects.items() if n != 1}
    assert not wrong, f"{len(wrong)} of {len(effects)} events did not take effect exactly once: {wrong}"
    states = [body["checks"].get("consumer:state", [{}])[0].get("output", "") for body in readiness]
    assert any(s.startswith("database unreachable since") for s in states), (
        f"readiness never said why consumption paused: {readiness[-1]}"
    )
    assert all(body["status"] == "fail" for body in readiness)


async def _handled_some(admin: asyncpg.Connection, load: Load, sent: list[Event]) -> bool:
    if len(sent) < 5:
        return False
    effects = await load.effects(admin, list(sent))
    return sum(effects.values()) >= 3


async def _caught_up(bootstrap: str, group: str, end: dict[Any, int]) -> bool:
    committed = await committed_offsets(bootstrap, group)
    return all(committed.get(tp, 0) >= offset for tp, offset in end.items())
