"""The outbox and the idempotent consumer, including their failure modes, on the real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from aiokafka import AIOKafkaProducer
from sqlalchemy import event as sa_event, text

from shared.consumer import EventConsumer, PermanentError, dlq_headers
from shared.db import Database
from shared.events import encode, new_event
from shared.events.catalogue import ClaimFollowupDue, PaymentPosted
from shared.events.envelope import H_ID
from shared.outbox import OutboxRelay, add_event, add_events
from tests.conftest import connect_as, end_offsets, eventually, read_from, unique


def followup(payer: str) -> ClaimFollowupDue:
    """A follow-up of a new claim id, whose payer id tells the test handlers what to do."""
    now = datetime.now(UTC)
    return ClaimFollowupDue(
        claim_id=uuid.uuid4(), payer_id=payer, submitted_at=now, days_outstanding=45, due_at=now
    )


def posted(account: str, amount: str = "10.00") -> PaymentPosted:
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="patient",
        account_id=account,
        amount=Decimal(amount),
        method="card",
        posted_at=datetime.now(UTC),
        receipt_number="R-TEST",
    )


async def test_rolled_back_transaction_publishes_nothing(scratch_db, servers):
    db = scratch_db
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    rolled_back = [new_event(posted(unique("acct")), source="/tests") for _ in range(3)]
    committed = new_event(posted(unique("acct")), source="/tests")
    async with db.session() as session:
        async with session.begin():
            add_event(session, rolled_back[0])
            await add_events(session, rolled_back[1:])
            await session.flush()  # the rows really reached the database before the rollback
            assert (await session.execute(text("SELECT count(*) FROM outbox"))).scalar() == 3
            await session.rollback()
    async with db.session() as session, session.begin():
        add_event(session, committed)

    relay = OutboxRelay(db, servers.kafka, service="payments-test")
    try:
        while await relay.publish_pending():
            pass
    finally:
        await relay.close()
    records = await read_from(
        servers.kafka_bootstrap,
        "payment.posted",
        start,
        until=lambda rs: any(dict(r.headers)[H_ID] == str(committed.id).encode() for r in rs),
    )
    ids = {dict(r.headers)[H_ID].decode() for r in records}
    assert str(committed.id) in ids
    assert not ids & {str(e.id) for e in rolled_back}
    async with db.session() as session:
        left = (await session.execute(text("SELECT count(*) FROM outbox"))).scalar()
    assert left == 1, "only the committed event's row exists"


class RelayCrash(Exception):
    pass


class CrashesBeforeMarking(OutboxRelay):
    """Dies after Kafka acknowledged the batch but before the rows were marked published."""

    async def _mark_published(self, conn, ids):
        raise RelayCrash


async def test_relay_crash_before_marking_republishes_and_consumer_applies_once(
    service, settings, servers, scratch_db
):
    db = scratch_db
    account = unique("acct")
    event = new_event(posted(account, "33.00"), source="/tests")
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    async with db.session() as session, session.begin():
        add_event(session, event)

    crashing = CrashesBeforeMarking(db, servers.kafka, service="payments-test")
    try:
        try:
            while True:
                await crashing.publish_pending()
        except RelayCrash:
            pass
    finally:
        await crashing.close()
    async with db.session() as session:
        still_pending = (
            await session.execute(
                text("SELECT published_at IS NULL FROM outbox WHERE event_id = :id"), {"id": event.id}
            )
        ).scalar()
    assert still_pending, "the crash happened before marking, so the row must still be pending"

    restarted = OutboxRelay(db, servers.kafka, service="payments-test")
    try:
        while await restarted.publish_pending():
            pass
    finally:
        await restarted.close()
    copies = await read_from(
        servers.kafka_bootstrap,
        "payment.posted",
        start,
        until=lambda rs: sum(dict(r.headers)[H_ID] == str(event.id).encode() for r in rs) >= 2,
    )
    assert sum(dict(r.headers)[H_ID] == str(event.id).encode() for r in copies) == 2

    duplicates_before = _duplicates("notifications")
    async with service("notifications") as (app, _):
        conn = await connect_as("notifications", settings)
        try:

            async def both_copies_seen():
                # Both copies are behind the group's committed offsets once the inbox has the event
                # and the consumer has moved past the second copy.
                n = await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event.id)
                return n == 1 and await _committed_past(app, copies, event.id)

            await eventually(both_copies_seen, timeout=30)
            effects = await conn.fetchval(
                "SELECT count(*) FROM inbox_messages WHERE cause_event_id = $1", event.id
            )
        finally:
            await conn.close()
    assert effects == 1
    assert _duplicates("notifications") >= duplicates_before + 1, "the second copy was skipped as a duplicate"


def _duplicates(service: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "events_consumed_total", {"service": service, "topic": "payment.posted", "outcome": "duplicate"}
    )
    return value or 0.0


async def _committed_past(app, records, event_id) -> bool:
    consumer = app.state.consumer._consumer
    if consumer is None:
        return False
    last = max(
        (r for r in records if dict(r.headers)[H_ID] == str(event_id).encode()), key=lambda r: r.offset
    )
    from aiokafka import TopicPartition

    committed = await consumer.committed(TopicPartition(last.topic, last.partition))
    return committed is not None and committed > last.offset


async def test_malformed_events_go_to_the_dead_letter_topic_and_consumption_continues(
    service, settings, servers, producer: AIOKafkaProducer
):
    account = unique("acct")
    dlq_start = await end_offsets(servers.kafka_bootstrap, "payment.posted.dlq")
    good = new_event(posted(account, "7.50"), source="/tests")
    bad_json_key, bad_schema_key = unique("badjson").encode(), unique("badschema").encode()
    base_headers = [(k, v) for k, v in encode(good)[3] if k != H_ID]
    await producer.send_and_wait(
        "payment.posted",
        value=b"{not json",
        key=bad_json_key,
        headers=[*base_headers, (H_ID, str(uuid.uuid4()).encode())],
    )
    await producer.send_and_wait(
        "payment.posted",
        value=json.dumps({"source": "patient"}).encode(),
        key=bad_schema_key,
        headers=[*base_headers, (H_ID, str(uuid.uuid4()).encode())],
    )
    topic, key, value, headers = encode(good)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)

    async with service("notifications"):
        conn = await connect_as("notifications", settings)
        try:
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) FROM inbox_messages WHERE cause_event_id = $1", good.id
                ),
                timeout=30,
            )
        finally:
            await conn.close()

    # Only our consumer group's parkings: another suite's consumer on the same broker may
    # dead-letter the same records too.
    ours = settings.consumer_group_prefix + "notifications"

    def mine(rs: list) -> dict:
        return {r.key: h for r in rs if (h := dlq_headers(r))["dlq_consumer_group"] == ours}

    parked = await read_from(
        servers.kafka_bootstrap,
        "payment.posted.dlq",
        dlq_start,
        until=lambda rs: {bad_json_key, bad_schema_key} <= set(mine(rs)),
    )
    by_key = mine(parked)
    assert by_key[bad_json_key]["dlq_error"] == "schema: payload is not valid JSON"
    assert "amount: missing" in by_key[bad_schema_key]["dlq_error"]
    for key in (bad_json_key, bad_schema_key):
        h = by_key[key]
        assert h["dlq_original_topic"] == "payment.posted"
        assert int(h["dlq_original_offset"]) >= 0 and h["dlq_original_partition"].isdigit()
        assert h["dlq_attempts"] == "1" and h["dlq_consumer_group"] == ours


async def test_handler_failures_are_retried_then_dead_lettered(settings, servers, producer):
    from shared.config import service_database_url

    db = Database(service_database_url("claims", settings), "claims", pool_size=2)
    attempts: dict[str, int] = {}
    handled: list[str] = []

    async def handler(session, event):
        claim = str(event.data.claim_id)
        attempts[claim] = attempts.get(claim, 0) + 1
        if event.data.payer_id == "always-fails":
            raise RuntimeError("boom")
        if event.data.payer_id == "never-valid":
            raise PermanentError("payer is not contracted")
        # Count effects that committed: a batch that rolls back (a neighbour failed) and is
        # retried record by record runs this handler again, but commits it once.
        sa_event.listen(session.sync_session, "after_commit", lambda _s: handled.append(claim), once=True)

    failing, permanent, fine = followup("always-fails"), followup("never-valid"), followup("payer-ok")
    dlq_start = await end_offsets(servers.kafka_bootstrap, "claim.followup_due.dlq")
    for payload in (failing, permanent, fine):
        topic, key, value, headers = encode(new_event(payload, source="/tests"))
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)

    consumer = EventConsumer(
        db,
        servers.kafka,
        service="claims-test",
        group_id=unique("group"),
        handlers={"claim.followup_due": handler},
        max_attempts=3,
        retry_base_seconds=0.01,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: str(fine.claim_id) in handled, timeout=30)
        parked = await read_from(
            servers.kafka_bootstrap,
            "claim.followup_due.dlq",
            dlq_start,
            until=lambda rs: {str(failing.claim_id), str(permanent.claim_id)} <= {r.key.decode() for r in rs},
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.close()
        await db.dispose()
    by_key = {r.key.decode(): dlq_headers(r) for r in parked}
    assert by_key[str(failing.claim_id)]["dlq_attempts"] == "3"
    assert by_key[str(failing.claim_id)]["dlq_error"] == "handler: RuntimeError"
    assert by_key[str(permanent.claim_id)]["dlq_attempts"] == "1"
    assert by_key[str(permanent.claim_id)]["dlq_error"] == "handler: payer is not contracted"
    assert handled.count(str(fine.claim_id)) == 1


async def test_a_batched_handler_gets_the_poll_at_once_and_a_failure_is_replayed_one_by_one(
    settings, servers, producer
):
    from shared import context
    from shared.config import service_database_url
    from shared.consumer import batched, in_context

    db = Database(service_database_url("claims", settings), "claims", pool_size=2)
    calls: list[int] = []
    committed: list[str] = []
    correlations: dict[str, str] = {}

    async def handler(session, events):
        calls.append(len(events))
        for event in in_context(events):
            correlations[str(event.data.claim_id)] = context.current().correlation_id
            if event.data.payer_id == "always-fails":
                raise RuntimeError("boom")
        ids = [str(e.data.claim_id) for e in events]
        sa_event.listen(session.sync_session, "after_commit", lambda _s: committed.extend(ids), once=True)

    fine = [followup("payer-ok") for _ in range(4)]
    failing = followup("always-fails")
    sent = []
    for i, payload in enumerate([*fine, failing]):
        context.start(f"corr-{i}")
        sent.append(new_event(payload, source="/tests"))
    context.reset()
    for event in sent:
        topic, key, value, headers = encode(event)
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    consumer = EventConsumer(
        db,
        servers.kafka,
        service="claims-test",
        group_id=unique("group"),
        handlers={"claim.followup_due": batched(handler)},
        max_attempts=2,
        retry_base_seconds=0.01,
    )
    task = asyncio.create_task(consumer.run())
    try:
        # Wait for the failing event to be seen too: a poll may end before it, and it would
        # then come in a later poll than the fine ones (CI saw exactly that once).
        await eventually(
            lambda: (
                {str(f.claim_id) for f in fine} <= set(committed) and str(failing.claim_id) in correlations
            ),
            timeout=30,
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.close()
        await db.dispose()
    # The group reads the topic from its start, so other tests' follow-ups come along: only
    # ours are checked.
    ours = {str(e.data.claim_id) for e in sent}
    assert max(calls) > 1, "the events of one poll came in one call"
    assert sorted(c for c in committed if c in ours) == sorted(str(f.claim_id) for f in fine), (
        "each fine event committed once, the failing one never"
    )
    assert {k: v for k, v in correlations.items() if k in ours} == {
        str(e.data.claim_id): f"corr-{i}" for i, e in enumerate(sent)
    }
