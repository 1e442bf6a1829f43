"""What the end-to-end stories share: where the platform is, a partner's view of Kafka, the
EHR's encounters, and polling with deadlines (never sleeps as assertions)."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import urllib.request
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from deploy import infra, kafka_auth
from deploy.payer_sandbox.ehr import BILLING_NPI, PROVIDERS, SOURCE as EHR_SOURCE
from shared.auth import mint_token
from shared.events.catalogue import Address, Coverage, EncounterCompleted, EncounterLine, Person
from shared.events.envelope import Event, decode, new_event
from shared.kafka import KafkaAccess, client_kwargs
from tests import conftest
from tests.conftest import unique

ROOT = Path(__file__).resolve().parents[2]


def kafka() -> KafkaAccess:
    """The platform broker's super user (its password is in .state/kafka/credentials.json):
    the stories publish what partners would and read any topic."""
    return kafka_auth.access(kafka_auth.ADMIN)


# What `make up` runs (deploy/infra.py's one list): services, payer sandbox, SMTP sink.
URLS = {p.name: f"http://127.0.0.1:{p.port}" for p in infra.PROCESSES}
HEALTH = {p.name: p.health for p in infra.PROCESSES}
SCENARIOS: dict[str, Any] = json.loads((ROOT / "deploy/payer_sandbox/data/scenarios.json").read_text())[
    "members"
]
# A billing office's user: reads and writes everywhere, runs the payment-plan cycle; no raw X12.
SCOPES = [
    f"{svc}:{verb}"
    for svc in ("eligibility", "claims", "payments", "notifications", "gateway")
    for verb in ("read", "write")
]
AUTH = {"Authorization": f"Bearer {mint_token([*SCOPES, 'payments:admin'], subject='e2e-suite')}"}
DEADLINE = 30.0  # seconds for one step of a story; the platform normally takes well under one


def platform_ready() -> bool:
    """Every process of `make up` answers its health check (standard library, no loop)."""
    for name, base in URLS.items():
        try:
            with urllib.request.urlopen(base + HEALTH[name], timeout=2) as resp:
                if resp.status != 200:
                    return False
        except OSError:
            return False
    return True


# The consumer groups of `make up`'s processes (the services'; the sandbox speaks files only).
GROUPS = ("eligibility", "claims", "payments", "notifications", "gateway", "frontoffice")


async def backlog() -> int:
    """Records the platform's consumer groups have not committed yet, over every topic they
    committed on: after other suites or a benchmark filled the shared topics, the platform may
    still be working through them when this suite starts."""
    admin = AIOKafkaAdminClient(**client_kwargs(kafka()))
    consumer = AIOKafkaConsumer(**client_kwargs(kafka()), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed: dict[tuple[str, TopicPartition], int] = {}
        for group in GROUPS:
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items():
                committed[group, tp] = meta.offset
        ends = await consumer.end_offsets(list({tp for _, tp in committed}))
        return sum(max(0, ends[tp] - offset) for (_, tp), offset in committed.items())
    finally:
        await consumer.stop()
        await admin.close()


async def wait_until_drained(timeout: float = 180.0) -> int:
    """Wait (bounded) until the platform has caught up with its topics; the backlog left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    left = await backlog()
    while left and loop.time() < deadline:
        await asyncio.sleep(0.5)
        left = await backlog()
    return left


# tests/conftest.py's poll, with a story step's deadline.
eventually = functools.partial(conftest.eventually, timeout=DEADLINE)


# --- the EHR partner ---------------------------------------------------------------------------


def generated_member() -> str:
    """A member id of the table's generated pattern (adjudicated like SBX10001), new per call.

    The sandbox remembers what it paid (CO-18 duplicates: same member, date and codes), so a
    suite that runs again on the same platform must not repeat a paid claim."""
    return f"SBXG{random.randrange(1_000_000):06d}"


def service_date() -> date:
    """A date of service inside every payer's timely-filing window, different between runs
    (the scenario members are shared by every run, the date keeps their claims apart)."""
    return date.today() - timedelta(days=random.randint(1, 150))


def encounter(
    member_id: str,
    codes: list[tuple[str, str]] | list[tuple[str, str, list[str]]],
    *,
    secondary: tuple[str, str] | None = None,
    payer_id: str = "SBX001",
) -> EncounterCompleted:
    """A visit of a new patient covered by a scenario member, as the EHR sends it."""
    sub = SCENARIOS.get(member_id, SCENARIOS["SBX10001"])["subscriber"]
    coverages = [Coverage(payer_id=payer_id, member_id=member_id, order="primary", group_number="GRP1001")]
    if secondary:
        coverages.append(Coverage(payer_id=secondary[0], member_id=secondary[1], order="secondary"))
    return EncounterCompleted(
        encounter_id=unique("e2e-enc"),
        patient_id=unique("e2e-pat"),
        payer_id=payer_id,
        billing_provider_npi=BILLING_NPI,
        rendering_provider_npi=PROVIDERS[1],
        date_of_service=service_date(),
        place_of_service="11",
        diagnoses=["M5450", "I10"],
        lines=[
            EncounterLine(
                code=line[0], charge=Decimal(line[1]), modifiers=list(line[2:][0]) if line[2:] else []
            )
            for line in codes
        ],
        patient=Person(
            first_name=sub["first_name"],
            last_name=sub["last_name"],
            birth_date=date.fromisoformat(sub["birth_date"]),
            gender=sub.get("gender", "U"),
            address=Address(line1="1 MAIN ST", city="SPRINGFIELD", state="IL", postal_code="62701"),
        ),
        coverages=coverages,
    )


async def publish(producer: AIOKafkaProducer, payload: EncounterCompleted) -> Event:
    """Send one encounter.completed with the shared envelope, signed as the EHR partner does
    (with the development key under .state that `make up` and the test suite share)."""
    event = new_event(payload, source=EHR_SOURCE)
    topic, key, value, headers = conftest.encode_signed(event)
    await producer.send_and_wait(topic, value, key=key, headers=headers)
    return event


# --- Kafka, read like an auditor -----------------------------------------------------------------


class Watch:
    """Records of some topics from the moment the watch started (no consumer group, so it
    never moves anyone's offsets), filtered by the test's own ids."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = topics
        self.start: dict[TopicPartition, int] = {}
        self.records: list[Any] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Watch:
        self._consumer = AIOKafkaConsumer(**client_kwargs(kafka()), enable_auto_commit=False)
        await self._consumer.start()
        partitions = []
        for topic in self.topics:
            parts = self._consumer.partitions_for_topic(topic)
            if not parts:
                await self._consumer._client.force_metadata_update()
                parts = self._consumer.partitions_for_topic(topic) or set()
            assert parts, f"topic {topic} does not exist"
            partitions += [TopicPartition(topic, p) for p in parts]
        self.start = await self._consumer.end_offsets(partitions)
        self._consumer.assign(partitions)
        for tp, offset in self.start.items():
            self._consumer.seek(tp, offset)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._consumer is not None
        await self._consumer.stop()

    async def _poll(self) -> None:
        assert self._consumer is not None
        batch = await self._consumer.getmany(timeout_ms=200)
        for recs in batch.values():
            self.records.extend(recs)

    async def raw(
        self, topic: str, match: Callable[[Any], bool], *, count: int = 1, timeout: float = DEADLINE
    ) -> list[Any]:
        """Records of `topic` for which `match(record)` holds, once there are `count` of them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [r for r in self.records if r.topic == topic and match(r)]
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise AssertionError(
                    f"{topic}: {len(found)} of {count} expected records within {timeout:.0f} s"
                )
            await self._poll()

    async def events(
        self, topic: str, match: Callable[[Event], bool], *, count: int = 1, timeout: float = DEADLINE
    ) -> list[Event]:
        """Decoded events (shared envelope) of `topic` that match."""

        def decoded(record: Any) -> Event | None:
            try:
                return decode(record.topic, record.key, record.value, record.headers)
            except Exception:
                return None  # someone else's garbage on a shared topic

        def ok(record: Any) -> bool:
            event = decoded(record)
            return event is not None and match(event)

        return [decoded(r) for r in await self.raw(topic, ok, count=count, timeout=timeout)]  # type: ignore[misc]


# --- the services ------------------------------------------------------------------------------


async def get_json(http: httpx.AsyncClient, service: str, path: str, **params: Any) -> Any:
    resp = await http.get(URLS[service] + path, params=params or None, headers=AUTH)
    assert resp.status_code == 200, f"GET {service}{path}: {resp.status_code} {resp.text}"
    return resp.json()


async def claims_of(http: httpx.AsyncClient, **filters: Any) -> list[dict[str, Any]]:
    return (await get_json(http, "claims", "/v1/claims", **filters))["items"]


async def claim_in(http: httpx.AsyncClient, statuses: tuple[str, ...], **filters: Any) -> dict[str, Any]:
    """The one claim matching `filters`, once it reached one of `statuses`."""

    async def check() -> dict[str, Any] | None:
        items = await claims_of(http, **filters)
        return items[0] if len(items) == 1 and items[0]["status"] in statuses else None

    return await eventually(check, what=f"claim {filters} in {statuses}")


async def register_patient(http: httpx.AsyncClient, patient_id: str) -> dict[str, str]:
    """The patient's contact channels in notifications; a unique address per run."""
    contact = {
        "kind": "patient",
        "email": f"{patient_id}@patients.example",
        "phone": f"+1555{uuid.uuid4().int % 10_000_000:07d}",
        "timezone": "UTC",
    }
    resp = await http.put(f"{URLS['notifications']}/v1/recipients/{patient_id}", json=contact, headers=AUTH)
    assert resp.status_code in (200, 201), resp.text
    return contact


async def mail_to(
    http: httpx.AsyncClient, address: str, match: Callable[[dict[str, Any]], bool], *, count: int = 1
) -> list[dict[str, Any]]:
    """Emails the SMTP sink received for `address` that match, once there are `count`."""

    async def check() -> list[dict[str, Any]] | None:
        resp = await http.get(f"{URLS['smtp-sink']}/messages", params={"to": address})
        found = [m for m in resp.json() if match(m)]
        return found if len(found) >= count else None

    return await eventually(check, what=f"{count} email(s) to {address}")


async def inbox(http: httpx.AsyncClient, recipient: str) -> list[dict[str, Any]]:
    return (await get_json(http, "notifications", "/v1/notifications", recipient=recipient, limit=100))[
        "items"
    ]
