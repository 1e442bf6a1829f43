"""Defect (bench-mailbox): one 835 payment paying thousands of claims makes a
`remittance.received` over Kafka's default 1 MB record. The relay's producer refused it
(MessageSizeTooLargeError) on every round, and every event staged after it waited behind it.
Topics whose events carry X12 sets now take records up to `LARGE_MESSAGE_BYTES`
(`shared.kafka.ensure_topics`, which also raises the limit of a topic that exists already),
and the producer sends them."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events import new_event
from shared.events.catalogue import RemittanceReceived
from shared.events.envelope import payload_bytes
from shared.kafka import LARGE_MESSAGE_BYTES, client_kwargs, ensure_topics
from shared.outbox import OutboxRelay, add_events
from tests.conftest import end_offsets, read_from, unique

TOPICS = ["remittance.received", "remittance.received.dlq"]


async def limits(kafka) -> dict[str, str]:
    admin = AIOKafkaAdminClient(**client_kwargs(kafka))
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, {"max.message.bytes": None}) for t in TOPICS]
        )
    finally:
        await admin.close()
    return {r[3]: dict((e[0], e[1]) for e in r[4])["max.message.bytes"] for r in response.resources}


async def test_the_relay_publishes_a_remittance_over_a_megabyte_and_what_follows(scratch_db, servers):
    p = unique("R")[:9]
    # Over 1 MB, yet nothing a payments consumer of the shared broker spends time on: not an
    # interchange (refused at once and dead-lettered).
    padding = "NOT AN INTERCHANGE " * 60_000
    big = new_event(
        RemittanceReceived(
            trace_number=f"T{p}BIG",
            payer_id="SBX001",
            x12_835=padding,
            received_at=datetime.now(UTC),
        ),
        source="/tests",
    )
    after = new_event(
        RemittanceReceived(
            trace_number=f"T{p}NEXT",
            payer_id="SBX001",
            x12_835="NOT AN INTERCHANGE",
            received_at=datetime.now(UTC),
        ),
        source="/tests",
    )
    assert len(payload_bytes(big)) > 1_048_576, "over Kafka's default record size"
    start = await end_offsets(servers.kafka_bootstrap, "remittance.received")
    async with scratch_db.session() as session, session.begin():
        await add_events(session, [big, after])
    relay = OutboxRelay(scratch_db, servers.kafka, service="split-test")
    try:
        while await relay.publish_pending():
            pass
    finally:
        await relay.close()
    keys = {big.key, after.key}
    records = await read_from(
        servers.kafka_bootstrap,
        "remittance.received",
        start,
        until=lambda rs: {r.key.decode() for r in rs} >= keys,
    )
    values = {r.key.decode(): r.value for r in records if r.key.decode() in keys}
    assert values == {big.key: payload_bytes(big), after.key: payload_bytes(after)}


async def test_existing_x12_topics_get_the_large_limit_once(servers):
    """The test session's migrate ran `ensure_topics` on a broker whose topics existed before
    the limit did; running it again creates nothing and changes nothing."""
    assert await limits(servers.kafka) == dict.fromkeys(TOPICS, str(LARGE_MESSAGE_BYTES))
    assert await ensure_topics(servers.kafka) == []
    assert await limits(servers.kafka) == dict.fromkeys(TOPICS, str(LARGE_MESSAGE_BYTES))
