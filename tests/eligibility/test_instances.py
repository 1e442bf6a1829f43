"""Two eligibility instances at once (issue 16, item 4): a claim and its correction counted
on two replicas, each transaction starting before the other commits.

A claim and its correction (frequency 7) have different claim ids, so different Kafka keys
and partitions: two replicas of one consumer group may handle them at the same moment. Each
read the chain's visits before the other committed, so the original kept its visit and the
correction, which moved the date of service, kept another: one visit counted twice. The
interleaving is forced with PostgreSQL (`tests.conftest.HeldOpen`), not with sleeps."""

from __future__ import annotations

import uuid

from services.eligibility.service import SERVICE
from shared.config import service_database_url
from shared.consumer import EventConsumer, records_of
from shared.db import Database
from shared.events import new_event
from shared.kafka import KafkaAccess
from tests.conftest import HeldOpen, unique
from tests.eligibility.helpers import WRITE, make_auth_body, make_submitted, post_authorization
from tests.payments.helpers import FakeDlq


def make_replica(db: Database, handlers: dict, group: str) -> tuple[EventConsumer, FakeDlq]:
    dlq = FakeDlq()
    consumer = EventConsumer(
        db,
        KafkaAccess("unused:9092", None, None),
        service="eligibility",
        handlers=handlers,
        group_id=group,
        max_attempts=2,
        retry_base_seconds=0.01,
        dlq_producer=dlq,  # type: ignore[arg-type]
    )
    return consumer, dlq


async def test_a_claim_and_its_correction_on_two_replicas_count_one_visit(eligibility, settings, admin):
    patient = unique("apat")
    async with eligibility() as (_, client):
        auth = (await post_authorization(client, make_auth_body(patient))).json()
        first = make_submitted(patient, auth["number"], days_ago=2)
        # The correction moves the visit to another day: the chain still bills one visit.
        corrected = make_submitted(
            patient, auth["number"], first_claim_id=first.claim_id, frequency="7", days_ago=3
        )
        events = [new_event(c, source="/services/claims") for c in (first, corrected)]
        group = f"test-instances-{uuid.uuid4().hex[:8]}"
        held = HeldOpen(admin)
        dbs = [
            Database(service_database_url("eligibility", settings), "eligibility", pool_size=2)
            for _ in range(2)
        ]
        try:
            handler = SERVICE.handlers["claim.submitted"]
            replica_a, dlq_a = make_replica(dbs[0], {"claim.submitted": held.around(handler)}, group)  # type: ignore[arg-type]
            replica_b, dlq_b = make_replica(dbs[1], dict(SERVICE.handlers), group)
            await held.run(
                replica_a.process(records_of(events[:1])),
                lambda: replica_b.process(records_of(events[1:], partition=1)),
            )
        finally:
            for db in dbs:
                await db.dispose()
        assert dlq_a.parked == dlq_b.parked == []
        view = (await client.get(f"/v1/authorizations/{auth['id']}", headers=WRITE)).json()
    visits = await admin.fetch(
        "SELECT date_of_service FROM eligibility.authorization_visits WHERE authorization_id = $1",
        uuid.UUID(auth["id"]),
    )
    assert view["visits_used"] == 1, "the chain's one visit was counted twice"
    assert [v["date_of_service"] for v in visits] == [corrected.date_of_service]
    assert held.blocked_other
