"""Who may do what on the broker: the Kafka principals and their ACLs, derived from the event
catalogue (issue 17 item 1).

The broker runs with `allow.everyone.if.no.acl.found=false`, so a principal can do only what a
binding here allows. Each service and each partner is its own principal; a principal may
  - WRITE the topics it publishes (the catalogue's `publisher`),
  - READ the topics it consumes (`consumers`), in consumer groups whose names begin with its
    group name (`CONSUMER_GROUP_PREFIX` + the service name; a PREFIXED group binding, so test
    runs and second environments with their own prefix get theirs too),
  - WRITE the dead-letter topics of the topics it consumes (its consumer parks poison there).
An idempotent producer needs no cluster-level IdempotentWrite since Kafka 2.8 (KIP-679): WRITE
on any topic allows InitProducerId, so none is granted.
`deadletters` is the operators' dead-letter replay (shared/deadletters, run inside every service
for `/v1/ops/dead-letters` and by `python -m shared.deadletters`): it READs every `.dlq` topic
without a group and WRITEs back only the topics a platform service consumes, the places a replay
sends a letter to. `admin` (migrations, infra, the test harness) is the broker's only super user
and has no bindings. The pure function `bindings()` is the whole policy; shared.kafka applies it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.config import SERVICE_NAMES
from shared.events.catalogue import CATALOGUE, PARTNERS, EventSpec, dlq_topic

ADMIN = "admin"
DEADLETTERS = "deadletters"
# Every principal the broker knows: a SCRAM user each (deploy/broker.py creates them).
PRINCIPALS: tuple[str, ...] = (ADMIN, *SERVICE_NAMES, *PARTNERS, DEADLETTERS)

TOPIC, GROUP = "TOPIC", "GROUP"
LITERAL, PREFIXED = "LITERAL", "PREFIXED"
READ, WRITE = "READ", "WRITE"


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ALLOW binding: `User:<principal>` may `operation` on the resource, from any host."""

    principal: str
    resource_type: str  # TOPIC or GROUP
    resource_name: str
    pattern: str  # LITERAL or PREFIXED
    operation: str  # READ or WRITE


def group_name(principal: str, prefix: str = "") -> str:
    """The consumer group (prefix) a principal consumes in: a service's group is
    CONSUMER_GROUP_PREFIX + its name (shared.app), a partner's begins with its name."""
    return principal if principal in PARTNERS else prefix + principal


def bindings(
    catalogue: Mapping[str, EventSpec] = CATALOGUE,
    *,
    group_prefixes: Iterable[str] = ("",),
) -> list[AclBinding]:
    """Every ACL binding the catalogue implies, sorted and without duplicates.

    `group_prefixes`: the CONSUMER_GROUP_PREFIX values the services run with on this broker
    (each gets its own PREFIXED group binding per service)."""
    known = set(PRINCIPALS)
    prefixes = tuple(dict.fromkeys(group_prefixes)) or ("",)
    found: set[AclBinding] = set()
    replayable: set[str] = set()
    for spec in catalogue.values():
        if spec.publisher in known:
            found.add(AclBinding(spec.publisher, TOPIC, spec.topic, LITERAL, WRITE))
        found.add(AclBinding(DEADLETTERS, TOPIC, dlq_topic(spec.topic), LITERAL, READ))
        for consumer in spec.consumers:
            if consumer not in known:
                continue  # "operations": a reader outside the platform, not a principal yet
            found.add(AclBinding(consumer, TOPIC, spec.topic, LITERAL, READ))
            found.add(AclBinding(consumer, TOPIC, dlq_topic(spec.topic), LITERAL, WRITE))
            for prefix in prefixes if consumer in SERVICE_NAMES else ("",):
                found.add(AclBinding(consumer, GROUP, group_name(consumer, prefix), PREFIXED, READ))
            if consumer in SERVICE_NAMES:
                replayable.add(spec.topic)
    found |= {AclBinding(DEADLETTERS, TOPIC, topic, LITERAL, WRITE) for topic in replayable}
    return sorted(found)


def allowed(found: Iterable[AclBinding], principal: str, operation: str, topic: str) -> bool:
    """Whether `principal` may `operation` on `topic` under these bindings (the broker's rule
    for LITERAL topic bindings; ADMIN may do anything)."""
    if principal == ADMIN:
        return True
    return any(
        b.principal == principal and b.resource_type == TOPIC and b.operation == operation
        for b in found
        if (b.resource_name == topic if b.pattern == LITERAL else topic.startswith(b.resource_name))
    )
