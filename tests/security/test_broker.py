"""Broker access (issue 17 item 1): the broker authenticates every client (SASL SCRAM-SHA-512,
TLS on the partners' listener) and authorizes each principal from the event catalogue
(shared/kafka_acl.py); it creates no topic by itself.

A forged `remittance.received` published with no credentials used to be posted by payments
within a second; here a producer without credentials is refused, the EHR's principal cannot
write remittances or postings, a service cannot read what it does not consume, and a service
running as its own principal still does its whole job (consume, park, replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from shared.app import create_app
from shared.config import SERVICE_NAMES, Settings
from shared.consumer import PermanentError, batched
from shared.events.catalogue import CATALOGUE, PARTNERS, TOPICS, dlq_topic
from shared.kafka import KafkaAccess, client_kwargs, settings_fields
from shared.kafka_acl import (
    ADMIN,
    DEADLETTERS,
    GROUP,
    PREFIXED,
    PRINCIPALS,
    READ,
    TOPIC,
    WRITE,
    AclBinding,
    allowed,
    bindings,
)
from shared.migrate import prepare_broker
from tests.claims.helpers import make_npi, make_provider, put_provider
from tests.conftest import end_offsets, eventually, start_group_at_end
from tests.shared.helpers import claims_take_encounters_from, make_encounter
from tests.shared.test_dead_letters import LETTERS, OPS_REPLAY, SOURCE, claims_for, parked, publish

# --- the ACL generator (pure) -------------------------------------------------------------


def test_each_principal_writes_only_what_it_publishes_and_reads_only_what_it_consumes() -> None:
    found = bindings()
    for spec in CATALOGUE.values():
        for principal in PRINCIPALS:
            if principal in (ADMIN, DEADLETTERS):
                continue
            assert allowed(found, principal, WRITE, spec.topic) == (principal == spec.publisher), (
                principal,
                spec.topic,
            )
            assert allowed(found, principal, READ, spec.topic) == (principal in spec.consumers), (
                principal,
                spec.topic,
            )
            # A consumer parks what it cannot handle on the topic's dead-letter topic.
            assert allowed(found, principal, WRITE, dlq_topic(spec.topic)) == (principal in spec.consumers)
            assert not allowed(found, principal, READ, dlq_topic(spec.topic))


def test_the_partners_may_write_only_their_own_events() -> None:
    found = bindings()
    assert not allowed(found, "ehr", WRITE, "remittance.received")
    assert not allowed(found, "ehr", WRITE, "payment.posted")
    assert allowed(found, "ehr", WRITE, "encounter.completed")
    # Issue 18: the clearinghouse speaks X12 files through its SFTP mailbox, and the gateway
    # publishes what they say; no partner may write an acknowledgment or a remittance.
    answers = {"claim.acknowledged", "claim.rejected", "remittance.received", "claim.status_reported"}
    for partner in PARTNERS:
        assert not [t for t in answers if allowed(found, partner, WRITE, t)], partner
    assert all(allowed(found, "gateway", WRITE, t) for t in answers)
    assert not [b for b in found if b.principal == "clearinghouse"]  # no such principal any more
    assert not [
        b
        for b in found
        if b.principal == "collections" and b.operation == WRITE and "dlq" not in b.resource_name
    ]


def test_consumer_groups_are_prefixed_per_service_and_environment() -> None:
    found = bindings(group_prefixes=("", "test-1-"))
    groups = {(b.principal, b.resource_name) for b in found if b.resource_type == GROUP}
    for service in ("eligibility", "claims", "payments", "notifications"):
        assert {(service, service), (service, f"test-1-{service}")} <= groups
    assert {("collections", "collections"), ("gateway", "test-1-gateway")} <= groups
    assert all(b.pattern == PREFIXED and b.operation == READ for b in found if b.resource_type == GROUP)
    assert not [b for b in found if b.principal in ("ehr", ADMIN, DEADLETTERS) and b.resource_type == GROUP]


def test_the_dead_letter_replay_reads_every_dlq_and_writes_back_only_what_services_consume() -> None:
    found = bindings()
    consumed_by_services = {s.topic for s in CATALOGUE.values() if set(s.consumers) & set(SERVICE_NAMES)}
    for topic in TOPICS:
        assert allowed(found, DEADLETTERS, READ, dlq_topic(topic))
        assert not allowed(found, DEADLETTERS, READ, topic)
        assert allowed(found, DEADLETTERS, WRITE, topic) == (topic in consumed_by_services)
    # account.recalled_from_collections goes to the agency only: nothing of ours replays it.
    assert not allowed(found, DEADLETTERS, WRITE, "account.recalled_from_collections")


def test_the_bindings_name_only_catalogue_topics_and_known_principals() -> None:
    found = bindings()
    names = {t for topic in TOPICS for t in (topic, dlq_topic(topic))}
    assert {b.resource_name for b in found if b.resource_type == TOPIC} <= names
    assert {b.principal for b in found} <= set(PRINCIPALS) - {ADMIN}
    talking = {p for s in CATALOGUE.values() for p in (s.publisher, *s.consumers) if p in PARTNERS}
    assert talking == {"ehr", "collections", "financing"} and talking <= {b.principal for b in found}
    assert found == sorted(set(found)) and isinstance(found[0], AclBinding)


def test_deploy_knows_the_same_principals_as_the_acls() -> None:
    from deploy import kafka_auth

    assert kafka_auth.PRINCIPALS == PRINCIPALS
    assert kafka_auth.PARTNERS == PARTNERS and kafka_auth.SERVICES == SERVICE_NAMES


# --- the running broker ---------------------------------------------------------------------


async def test_a_producer_without_credentials_is_refused(servers: Any) -> None:
    """No SASL: the broker answers nothing but the version handshake, on either listener; a
    wrong password is refused too. Nothing reaches remittance.received."""
    before = await end_offsets(servers.kafka, "remittance.received")
    tls = servers.partner("ehr")
    refused = [
        {"bootstrap_servers": servers.kafka_bootstrap},  # PLAINTEXT
        {  # TLS without SASL on the partners' listener
            "bootstrap_servers": tls.bootstrap,
            "security_protocol": "SSL",
            "ssl_context": client_kwargs(tls)["ssl_context"],
        },
        client_kwargs(replace(servers.kafka, password="not-the-password")),
        client_kwargs(replace(tls, password="not-the-password")),
    ]
    for options in refused:
        producer = AIOKafkaProducer(**options, request_timeout_ms=5000)
        with pytest.raises((KafkaConnectionError, KafkaError)):
            await producer.start()
            await producer.send_and_wait("remittance.received", b'{"forged": true}', key=b"forged")
        await producer.stop()
    assert await end_offsets(servers.kafka, "remittance.received") == before


async def test_the_ehr_cannot_write_remittances_or_postings(servers: Any) -> None:
    before = {t: await end_offsets(servers.kafka, t) for t in ("remittance.received", "payment.posted")}
    async with _producer(servers.partner("ehr")) as ehr:
        assert await ehr.partitions_for("encounter.completed"), "its own topic is writable"
        for topic in ("remittance.received", "payment.posted"):
            with pytest.raises(TopicAuthorizationFailedError):
                await ehr.send_and_wait(topic, b'{"amount": "1.00"}', key=b"forged")
    for topic, offsets in before.items():
        assert await end_offsets(servers.kafka, topic) == offsets, topic


async def test_a_service_cannot_read_a_topic_it_does_not_consume(servers: Any) -> None:
    """Notifications reads payment.posted, not the 835s; payments does not read
    acknowledgments; and a service cannot join another's consumer group."""
    for principal, topic in (("notifications", "remittance.received"), ("payments", "claim.acknowledged")):
        async with _consumer(servers.principal(principal)) as consumer:
            # The broker will not even describe it (where its partitions are), so no fetch can
            # be addressed; aiokafka's consumer API would only wait for it forever.
            with pytest.raises(TopicAuthorizationFailedError):
                await consumer._client._wait_on_metadata(topic)
    async with _consumer(servers.principal("notifications")) as consumer:
        await consumer._client._wait_on_metadata("payment.posted")
        assert await consumer.end_offsets([TopicPartition("payment.posted", 0)])
    thief = AIOKafkaConsumer(
        "claim.submitted",
        **client_kwargs(servers.principal("eligibility")),
        group_id="payments",
        enable_auto_commit=False,
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await asyncio.wait_for(thief.start(), 30)
    finally:
        await thief.stop()


async def test_topics_are_not_auto_created(servers: Any) -> None:
    topic = f"no.such.topic.{uuid.uuid4().hex[:8]}"
    async with _producer(servers.kafka, request_timeout_ms=3000) as producer:
        # The producer asks for the topic's metadata until it gives up: nothing creates it.
        with pytest.raises((KafkaTimeoutError, UnknownTopicOrPartitionError)):
            await producer.send_and_wait(topic, b"x")
    admin = AIOKafkaAdminClient(**client_kwargs(servers.kafka))
    await admin.start()
    try:
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


async def test_a_service_as_its_own_principal_consumes_parks_and_replays(settings, servers, admin) -> None:
    """Claims as `claims` (its group under a prefix of its own, ACLs made by migrate's
    prepare_broker), an encounter from the EHR over TLS: refused by a rule, parked on the
    dead-letter topic, listed and replayed by the dead-letter principal, then taken once."""
    from services.claims.providers import usecases as providers
    from services.claims.service import SERVICE
    from services.claims.submission.events import on_encounters_completed

    async def strict(session: Any, events: Any) -> None:
        known = await providers.registry(session, {e.data.billing_provider_npi for e in events})
        if any(e.data.billing_provider_npi not in known for e in events):
            raise PermanentError("billing provider is not in the registry")
        await on_encounters_completed(session, events)

    prefix = f"acl-{uuid.uuid4().hex[:8]}-"
    await prepare_broker(servers.kafka, prefix)
    ours = settings.model_copy(
        update={**settings_fields(servers.principal("claims")), "consumer_group_prefix": prefix}
    )
    assert ours.kafka_username == "claims" and ours.kafka_deadletters_username == DEADLETTERS
    handlers = {**SERVICE.handlers, "encounter.completed": batched(strict)}
    await start_group_at_end(servers.kafka, prefix + "claims", list(handlers))
    npi = make_npi()
    encounter = make_encounter(npi)
    app = create_app(replace(SERVICE, handlers=handlers, workers=[]), ours)
    with claims_take_encounters_from(SOURCE):
        async with app.router.lifespan_context(app), _producer(servers.partner("ehr")) as ehr:
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://claims", timeout=60) as client:
                poisoned = await publish(ehr, encounter)
                letter = (await parked(client, poisoned))[str(poisoned)]
                assert (letter["reason"], letter["consumer_group"]) == ("rule", prefix + "claims")
                assert (await put_provider(client, make_provider(npi))).status_code in (200, 201)
                replayed = await client.post(f"{LETTERS}/{letter['id']}/replay", headers=OPS_REPLAY)
                assert replayed.status_code == 200, replayed.text
                await eventually(lambda: claims_for(admin, encounter.encounter_id), timeout=30, what="claim")
    assert await claims_for(admin, encounter.encounter_id) == 1


def test_settings_have_no_unauthenticated_mode() -> None:
    with pytest.raises(ValueError):
        Settings(kafka_security_protocol="PLAINTEXT")  # type: ignore[arg-type]
    from shared.kafka import MissingCredentials

    with pytest.raises(MissingCredentials):
        client_kwargs(KafkaAccess("127.0.0.1:9092", None, None))


# --- helpers --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _producer(access: KafkaAccess, **options: Any) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(**client_kwargs(access), acks="all", **options)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def _consumer(access: KafkaAccess) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(**client_kwargs(access), enable_auto_commit=False, request_timeout_ms=10000)
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
