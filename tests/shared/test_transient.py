"""Transient or poison (issue 16, item 1): `shared.retry.transient` on real errors from the real
servers, and the consumer acting on it: a failure that passes is retried past any attempt
limit and never dead-lettered; an event that can never succeed is, with its reason."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import event as sa_event, text

from shared.config import service_database_url
from shared.consumer import EventConsumer, PermanentError, dlq_headers
from shared.db import Database
from shared.events import encode, new_event
from shared.events.catalogue import ClaimFollowupDue
from shared.kafka import client_kwargs
from shared.retry import Outage, transient
from tests.conftest import as_admin, end_offsets, eventually, read_from, start_group_at_end, unique
from tests.shared.helpers import closed_port, records_between


async def _failure(db: Database, *statements: str) -> Exception:
    try:
        async with db.session() as session, session.begin():
            for sql in statements:
                await session.execute(text(sql))
    except Exception as exc:
        return exc
    raise AssertionError(f"{statements} did not fail")


def _raise(sqlstate: str) -> str:
    return f"DO $$ BEGIN RAISE EXCEPTION 'as the server says it' USING ERRCODE = '{sqlstate}'; END $$"


async def test_database_and_broker_failures_are_told_apart_from_the_events(settings):
    db = Database(service_database_url("claims", settings), "claims", pool_size=1)
    away = Database(
        service_database_url("claims", settings).replace(
            settings.database_url.split("@")[1].split("/")[0], f"127.0.0.1:{closed_port()}"
        ),
        "claims",
        pool_size=1,
    )
    try:
        assert transient(await _failure(db, _raise("40001"))) == "database busy"
        assert transient(await _failure(db, _raise("40P01"))) == "database busy"
        assert transient(await _failure(db, _raise("57P01"))) == "database unreachable"
        assert transient(await _failure(db, _raise("53300"))) == "database busy"
        timeout = await _failure(db, "SET LOCAL statement_timeout = 50", "SELECT pg_sleep(2)")
        assert transient(timeout) == "database timeout"
        assert transient(await _failure(db, "SELECT 1 / 0")) is None
        assert transient(await _failure(db, "SELECT * FROM no_such_table")) is None
        assert transient(await _failure(away, "SELECT 1")) == "database unreachable"
    finally:
        await db.dispose()
        await away.dispose()
    producer = AIOKafkaProducer(
        **client_kwargs(as_admin(f"127.0.0.1:{closed_port()}")), request_timeout_ms=2000
    )
    try:
        await producer.start()
    except Exception as exc:
        assert transient(exc) == "kafka unreachable"
    else:
        raise AssertionError("a producer started without a broker")
    finally:
        await producer.stop()
    assert transient(PermanentError("payer is not contracted")) is None
    assert transient(ValueError("bad data")) is None


async def test_an_outage_records_since_when_and_why():
    outage = Outage()
    assert not outage.active
    outage.begin(ConnectionRefusedError(111, "refused"))
    outage.begin(ConnectionRefusedError(111, "refused"))
    assert outage.active and outage.transient
    assert outage.describe().startswith("network unreachable since ")
    assert "ConnectionRefusedError; 2 failed tries" in outage.describe()
    outage.end()
    outage.begin(RuntimeError("a bug"))
    assert outage.active and not outage.transient and outage.describe().startswith("failing since ")


def _followup(payer: str) -> ClaimFollowupDue:
    now = datetime.now(UTC)
    return ClaimFollowupDue(
        claim_id=uuid.uuid4(), payer_id=payer, submitted_at=now, days_outstanding=45, due_at=now
    )


def _followup_consumer(db: Database, servers: Any, group: str, handler: Any, **limits: Any) -> EventConsumer:
    """A claim.followup_due consumer of the test's own group that retries and pauses quickly;
    `limits` are the attempt limits under test."""
    return EventConsumer(
        db,
        servers.kafka,
        service="claims-test",
        group_id=group,
        handlers={"claim.followup_due": handler},
        retry_base_seconds=0.01,
        pause_max_seconds=0.2,
        **limits,
    )


async def test_a_transient_failure_outlasts_the_attempt_limit_and_poison_still_parks(
    settings, servers, producer
):
    """The handler's transaction loses a serialization race five times in a row (a real 40001
    from the server), with one attempt allowed: the event waits and is handled once, nothing is
    parked. A business-rule refusal next to it is parked at once, reason `rule`."""
    db = Database(service_database_url("claims", settings), "claims", pool_size=2)
    races: dict[str, int] = {}
    handled: list[str] = []

    async def handler(session, event):
        claim = str(event.data.claim_id)
        if event.data.payer_id == "never-valid":
            raise PermanentError("payer is not contracted")
        if event.data.payer_id == "races" and races.get(claim, 0) < 5:
            races[claim] = races.get(claim, 0) + 1
            await session.execute(text(_raise("40001")))
        sa_event.listen(session.sync_session, "after_commit", lambda _s: handled.append(claim), once=True)

    racing, refused = _followup("races"), _followup("never-valid")
    group = unique("group")
    dlq_start = await end_offsets(servers.kafka_bootstrap, "claim.followup_due.dlq")
    for payload in (racing, refused):
        topic, key, value, headers = encode(new_event(payload, source="/tests"))
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    consumer = _followup_consumer(db, servers, group, handler, max_attempts=1)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: str(racing.claim_id) in handled, timeout=60)
        await read_from(
            servers.kafka_bootstrap,
            "claim.followup_due.dlq",
            dlq_start,
            until=lambda rs: any(r.key == str(refused.claim_id).encode() for r in rs),
        )
        # The pause ends with the first poll handled after the races.
        await eventually(lambda: not consumer.outage.active, timeout=30, what="outage over")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.close()
        await db.dispose()
    assert races[str(racing.claim_id)] == 5 and handled.count(str(racing.claim_id)) == 1
    parked = await records_between(servers.kafka_bootstrap, "claim.followup_due.dlq", dlq_start)
    ours = [dlq_headers(r) for r in parked if dlq_headers(r)["dlq_consumer_group"] == group]
    assert {h["dlq_reason"] for h in ours} == {"rule"}
    assert {h["dlq_error"] for h in ours} == {"handler: payer is not contracted"}


async def test_an_event_failing_alone_while_the_database_answers_is_parked_not_retried_forever(
    settings, servers, producer
):
    """Defect (issue 19, the reviewer's stalled payments consumer): a 25,000-claim 835 made the
    posting take more advisory locks than the server's lock table holds, and PostgreSQL answered
    53200 "out of shared memory" (class 53, "database busy") on every try. The consumer paused
    and retried that poll forever while the database answered everything else; its partition
    never moved again. Here the server raises 53200 for one event every time: once that event,
    tried alone, has failed `transient_limit` rounds while the database answers, it is parked
    (reason `error`, saying it looked transient), and the event behind it on its partition is
    handled. A race that passes (the test above) is still never parked."""
    db = Database(service_database_url("claims", settings), "claims", pool_size=2)
    tries: dict[str, int] = {}
    handled: list[str] = []
    claim = uuid.uuid4()  # one key: both events on one partition, the good one behind the bad

    async def handler(session, event):
        tries[event.data.payer_id] = tries.get(event.data.payer_id, 0) + 1
        if event.data.payer_id == "too-big":
            await session.execute(text(_raise("53200")))
        sa_event.listen(
            session.sync_session, "after_commit", lambda _s: handled.append(event.data.payer_id), once=True
        )

    stuck, behind = (_followup(p).model_copy(update={"claim_id": claim}) for p in ("too-big", "payer-ok"))
    group = unique("group")
    await start_group_at_end(servers.kafka_bootstrap, group, ["claim.followup_due"])  # ours only
    dlq_start = await end_offsets(servers.kafka_bootstrap, "claim.followup_due.dlq")
    for payload in (stuck, behind):
        topic, key, value, headers = encode(new_event(payload, source="/tests"))
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    consumer = _followup_consumer(db, servers, group, handler, max_attempts=3, transient_limit=4)
    task = asyncio.create_task(consumer.run())
    try:
        parked = await read_from(
            servers.kafka_bootstrap,
            "claim.followup_due.dlq",
            dlq_start,
            until=lambda rs: any(dlq_headers(r)["dlq_consumer_group"] == group for r in rs),
            timeout=60,
        )
        await eventually(lambda: "payer-ok" in handled, timeout=30, what="the event behind it handled")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.close()
        await db.dispose()
    (ours,) = [dlq_headers(r) for r in parked if dlq_headers(r)["dlq_consumer_group"] == group]
    assert (ours["dlq_reason"], ours["dlq_attempts"]) == ("error", "4")
    assert ours["dlq_error"] == "handler: DBAPIError (database busy, while the database answered)"
    assert handled == ["payer-ok"] and tries["too-big"] >= 4
