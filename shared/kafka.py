"""Kafka plumbing shared by the relay, the consumers, health and tests.

Every Kafka client of the project is built with `client_kwargs(access)`: the broker address and
the SASL (and TLS) settings of one principal (docs/kafka-security.md). The broker refuses a
client without credentials, so there is no other way to build one that works.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import TopicAlreadyExistsError, for_code
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.admin import CreateAclsRequest_v1, DescribeAclsRequest
from aiokafka.protocol.api import Request

from shared.config import Settings
from shared.events.catalogue import TOPICS, dlq_topic
from shared.kafka_acl import AclBinding

log = logging.getLogger(__name__)

TOPIC_PARTITIONS = 3
# Dead letters wait for an operator (docs/runbook-dead-letters.md): their topics keep records
# 90 days instead of the broker's 7, so a letter parked before a long weekend can still be
# replayed. Set when a topic is created; an older topic keeps what it has.
DLQ_RETENTION_MS = 90 * 24 * 3600 * 1000
# Topics whose events carry a whole X12 transaction set. One 835 set is one payment, and one
# check can pay thousands of claims (a 5,000-claim set is about 1.15 MB as an event), over
# Kafka's default 1 MB. These topics (and their dead-letter topics) take records up to
# LARGE_MESSAGE_BYTES; the gateway sends a set whose event would be larger than
# X12_EVENT_MAX_BYTES to its review queue instead of staging an event no broker takes
# (docs/gateway.md). claim.submitted carries one claim's 837 and stays at the default.
LARGE_MESSAGE_TOPICS = frozenset({"remittance.received"})
X12_EVENT_MAX_BYTES = 16 * 1024 * 1024
# The event's payload plus its key, headers and the record batch's framing.
LARGE_MESSAGE_BYTES = X12_EVENT_MAX_BYTES + 64 * 1024


@dataclass(frozen=True)
class KafkaAccess:
    """Where the broker is and who a client is there: one principal's SASL credentials, and
    the CA to trust when the listener speaks TLS (SASL_SSL)."""

    bootstrap: str
    username: str | None
    password: str | None
    security_protocol: str = "SASL_PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    cafile: str | None = None

    def as_principal(self, username: str, password: str | None) -> KafkaAccess:
        """The same broker and transport, another principal."""
        return replace(self, username=username, password=password)


def kafka_access(settings: Settings) -> KafkaAccess:
    """This process's principal (KAFKA_USERNAME/KAFKA_PASSWORD) on KAFKA_BOOTSTRAP_SERVERS."""
    return KafkaAccess(
        bootstrap=settings.kafka_bootstrap_servers,
        username=settings.kafka_username,
        password=settings.kafka_password,
        security_protocol=settings.kafka_security_protocol,
        mechanism=settings.kafka_sasl_mechanism,
        cafile=settings.kafka_ssl_cafile,
    )


def deadletters_access(settings: Settings) -> KafkaAccess:
    """The dead-letter replay's principal (shared.kafka_acl.DEADLETTERS) on the same broker."""
    return kafka_access(settings).as_principal(
        settings.kafka_deadletters_username, settings.kafka_deadletters_password
    )


def settings_fields(access: KafkaAccess) -> dict[str, Any]:
    """The Settings fields of an access (the inverse of kafka_access), for code that builds a
    Settings for a principal (benchmarks, tests)."""
    return {
        "kafka_bootstrap_servers": access.bootstrap,
        "kafka_username": access.username,
        "kafka_password": access.password,
        "kafka_security_protocol": access.security_protocol,
        "kafka_sasl_mechanism": access.mechanism,
        "kafka_ssl_cafile": access.cafile,
    }


def environment(access: KafkaAccess) -> dict[str, str]:
    """The KAFKA_* environment variables a child process reads this access from."""
    return {k.upper(): str(v) for k, v in settings_fields(access).items() if v}


class MissingCredentials(ValueError):
    """A client was asked for without a username or password: the broker would refuse it."""


def client_kwargs(access: KafkaAccess) -> dict[str, Any]:
    """The keyword arguments every aiokafka client (producer, consumer, admin, bare client)
    gets: bootstrap servers, SASL mechanism and credentials, and a TLS context for SASL_SSL."""
    if not access.username or not access.password:
        raise MissingCredentials(
            "Kafka credentials are not set (KAFKA_USERNAME / KAFKA_PASSWORD): the broker "
            "authenticates every client (docs/kafka-security.md)"
        )
    kwargs: dict[str, Any] = {
        "bootstrap_servers": access.bootstrap,
        "security_protocol": access.security_protocol,
        "sasl_mechanism": access.mechanism,
        "sasl_plain_username": access.username,
        "sasl_plain_password": access.password,
    }
    if access.security_protocol == "SASL_SSL":
        kwargs["ssl_context"] = _ssl_context(access.cafile)
    return kwargs


@functools.lru_cache(maxsize=8)
def _ssl_context(cafile: str | None) -> ssl.SSLContext:
    """A context verifying the broker's certificate and host name against `cafile` (the
    system's trust store when None)."""
    return create_ssl_context(cafile=cafile)


def make_producer(kafka: KafkaAccess, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates from retries."""
    return AIOKafkaProducer(
        **client_kwargs(kafka),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
        # aiokafka refuses a record over this before sending it; the broker enforces each
        # topic's own max.message.bytes (1 MB but for LARGE_MESSAGE_TOPICS).
        max_request_size=LARGE_MESSAGE_BYTES,
    )


async def started_producer(kafka: KafkaAccess, *, client_id: str) -> AIOKafkaProducer:
    """A started idempotent producer. A failed or cancelled start closes it again, so no
    half-started client lingers (BaseException covers cancellation)."""
    producer = make_producer(kafka, client_id=client_id)
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    return producer


def all_topics() -> list[str]:
    """Every catalogue topic and its dead-letter topic."""
    return [t for topic in TOPICS for t in (topic, dlq_topic(topic))]


async def ensure_topics(kafka: KafkaAccess, topics: list[str] | None = None) -> list[str]:
    """Create missing topics (idempotent); returns the ones created. The broker creates none
    by itself (auto.create.topics.enable=false), so this (shared.migrate) is the only way.
    An existing large-message topic whose limit is not ours yet gets it (`_raise_limits`), so
    `make up` on a broker made before the limit existed needs nothing else."""
    wanted = topics if topics is not None else all_topics()
    admin = AIOKafkaAdminClient(**client_kwargs(kafka), client_id="revcycle-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                await admin.create_topics([_new_topic(t) for t in missing])
            except TopicAlreadyExistsError:
                pass
        await _raise_limits(admin, [t for t in wanted if t in existing and _is_large(t)])
        return missing
    finally:
        await admin.close()


def _is_large(name: str) -> bool:
    return name.removesuffix(".dlq") in LARGE_MESSAGE_TOPICS


def _topic_configs(name: str) -> dict[str, str]:
    """The configs we set on a topic: dead letters kept 90 days, large records where events
    carry X12 sets."""
    configs = {"retention.ms": str(DLQ_RETENTION_MS)} if name.endswith(".dlq") else {}
    if _is_large(name):
        configs["max.message.bytes"] = str(LARGE_MESSAGE_BYTES)
    return configs


def _new_topic(name: str) -> NewTopic:
    return NewTopic(
        name, num_partitions=TOPIC_PARTITIONS, replication_factor=1, topic_configs=_topic_configs(name)
    )


async def _raise_limits(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Give existing topics our max.message.bytes when they lack it. AlterConfigs (not the
    incremental kind) replaces a topic's whole set of overrides, so it sends all of ours, and
    only for a topic that needs it: running it again changes nothing."""
    if not names:
        return
    key = "max.message.bytes"
    described = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n, {key: None}) for n in names]
    )
    current = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in described
        for resource in response.resources
    }
    stale = [n for n in names if current.get(n, {}).get(key) != str(LARGE_MESSAGE_BYTES)]
    if not stale:
        return
    responses = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n, _topic_configs(n)) for n in stale]
    )
    for response in responses:
        for code, message, _type, name in response.resources:
            if code:
                raise for_code(code)(f"{name}: {message}")
    log.info("raised max.message.bytes of %s to %d", ", ".join(stale), LARGE_MESSAGE_BYTES)


# Kafka's protocol codes (org.apache.kafka.common.acl / resource) for CreateAcls.
_RESOURCE = {"TOPIC": 2, "GROUP": 3}
_PATTERN = {"LITERAL": 3, "PREFIXED": 4}
_OPERATION = {"READ": 3, "WRITE": 4}
_ALLOW = 3
ACL_PROPAGATION_SECONDS = 15.0


class _CreateAcls(Request[CreateAclsRequest_v1]):
    """CreateAcls v1 with many bindings in one request (aiokafka's own sends one)."""

    API_KEY = 30

    def __init__(self, found: Sequence[AclBinding]) -> None:
        self._found = found

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(
            [
                (
                    _RESOURCE[b.resource_type],
                    b.resource_name,
                    _PATTERN[b.pattern],
                    f"User:{b.principal}",
                    "*",
                    _OPERATION[b.operation],
                    _ALLOW,
                )
                for b in self._found
            ]
        )


async def ensure_acls(kafka: KafkaAccess, found: Sequence[AclBinding]) -> None:
    """Create the ACL bindings (the broker keeps one of each, so this is idempotent). Needs a
    principal allowed to alter the cluster's ACLs (the super user)."""
    if not found:
        return
    admin = AIOKafkaAdminClient(**client_kwargs(kafka), client_id="revcycle-acls")
    await admin.start()
    try:
        response = await admin._send_request(_CreateAcls(found))
        for code, message in response.creation_responses:
            if code:
                raise for_code(code)(message)
        # The controller has them; wait until the broker's authorizer does too, so a client
        # started right after migrate is not refused.
        async with asyncio.timeout(ACL_PROPAGATION_SECONDS):
            while True:
                if set(found) <= await _described(admin):
                    break
                await asyncio.sleep(0.05)
    finally:
        await admin.close()


async def _described(admin: AIOKafkaAdminClient) -> set[AclBinding]:
    """The ALLOW bindings the broker enforces now (every resource, principal and operation)."""
    any_ = 1
    request = DescribeAclsRequest(any_, None, any_, None, None, any_, any_)  # type: ignore[arg-type]
    response = await admin._send_request(request)
    if response.error_code:
        raise for_code(response.error_code)(response.error_message)
    names = {v: k for k, v in _RESOURCE.items()}
    patterns = {v: k for k, v in _PATTERN.items()}
    operations = {v: k for k, v in _OPERATION.items()}
    return {
        AclBinding(
            principal.removeprefix("User:"),
            names.get(rtype, str(rtype)),
            name,
            patterns.get(ptype, str(ptype)),
            operations.get(op, str(op)),
        )
        for rtype, name, ptype, acls in response.resources
        for principal, _host, op, permission in acls
        if permission == _ALLOW
    }


async def broker_reachable(kafka: KafkaAccess, timeout: float) -> str | None:
    """None when a broker answers a metadata request in time; otherwise the reason.

    A fresh connection is used each time, so a cached metadata snapshot cannot hide a
    broker that has gone away.
    """
    try:
        client = AIOKafkaClient(
            **client_kwargs(kafka), request_timeout_ms=int(timeout * 1000), client_id="revcycle-health"
        )
    except MissingCredentials:
        return "MissingCredentials"
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return None
    except Exception as exc:  # any failure means "not reachable"; the type is the reason
        return type(exc).__name__
    finally:
        await client.close()


async def consumer_lag(
    kafka: KafkaAccess, group: str, topics: list[str], *, timeout: float
) -> dict[str, int]:
    """How many records each topic holds past `group`'s committed offsets (summed over its
    partitions), as the broker has them: what every replica of a service still has to read,
    whichever replica reads it. A partition the group never committed on counts from the
    start of what the topic keeps (the services' consumers start at the earliest offset).
    Raises TimeoutError or a Kafka error when the broker cannot answer within `timeout`."""
    admin = AIOKafkaAdminClient(
        **client_kwargs(kafka), client_id="revcycle-lag", request_timeout_ms=int(timeout * 1000)
    )
    reader = AIOKafkaConsumer(
        **client_kwargs(kafka),
        client_id="revcycle-lag",
        enable_auto_commit=False,
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
            await reader.start()
            committed = await admin.list_consumer_group_offsets(group)
            await reader._client.force_metadata_update()  # or partitions_for_topic knows nothing yet
            parts = [
                TopicPartition(t, p) for t in topics for p in sorted(reader.partitions_for_topic(t) or ())
            ]
            ends = await reader.end_offsets(parts) if parts else {}
            starts = await reader.beginning_offsets(parts) if parts else {}
    finally:
        for client in (reader.stop, admin.close):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client(), timeout)
    lag = dict.fromkeys(topics, 0)
    for tp, end in ends.items():
        meta = committed.get(tp)
        position = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
        lag[tp.topic] += max(end - position, 0)
    return lag
