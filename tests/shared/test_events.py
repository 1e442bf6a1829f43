"""The event contract: envelope, catalogue, AsyncAPI, and the pinned broker with aiokafka."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared import context
from shared.events import CATALOGUE, TOPICS, InvalidEvent, decode, encode, new_event
from shared.events.asyncapi import render
from shared.events.catalogue import PaymentPosted
from shared.kafka import client_kwargs, ensure_topics
from tests.conftest import unique

ROOT = Path(__file__).resolve().parents[2]

# The topic table of the platform backbone issue: topic -> (publisher, consumers).
CONTRACT = {
    "eligibility.checked": ("eligibility", {"claims", "notifications"}),
    "authorization.recorded": ("eligibility", {"claims", "notifications"}),
    "authorization.expiring": ("eligibility", {"claims", "notifications"}),
    "encounter.completed": ("ehr", {"claims", "payments"}),
    # issue 18: the clearinghouse exchanges files with the gateway, which publishes what they say
    "claim.submitted": ("claims", {"gateway", "payments", "eligibility"}),
    "claim.acknowledged": ("gateway", {"claims", "notifications"}),
    "claim.rejected": ("gateway", {"claims", "notifications"}),
    "remittance.received": ("gateway", {"payments"}),
    "submission_file.acknowledged": ("gateway", {"claims"}),
    "claim.status_reported": ("gateway", {"claims"}),
    "payment.posted": ("payments", {"claims", "notifications"}),
    "claim.denied": ("claims", {"notifications", "payments"}),
    "claim.followup_due": ("claims", {"notifications", "payments", "gateway"}),
    "denial.resolved": ("payments", {"claims"}),  # issue 15: a denied balance worked in payments
    "payment.underpaid": ("payments", {"notifications"}),
    "statement.issued": ("payments", {"notifications"}),
    "payment_plan.installment_due": ("payments", {"notifications"}),
    "payment.late": ("payments", {"notifications"}),
    "account.sent_to_collections": ("payments", {"notifications"}),
    "account_notice.issued": ("payments", {"notifications"}),
    "account.recalled_from_collections": ("payments", {"collections"}),
    "fee_schedule.updated": ("payments", {"eligibility"}),
    # issue 19: the front office's registry, tickets, holds and assistance
    "patient.updated": ("frontoffice", {"claims", "eligibility", "payments"}),
    "coverage.updated": ("frontoffice", {"claims", "eligibility"}),
    "eligibility.discrepancy_found": ("eligibility", {"frontoffice"}),
    "ticket.assigned": ("frontoffice", {"notifications"}),
    "ticket.escalated": ("frontoffice", {"notifications"}),
    "ticket.resolved": ("frontoffice", {"notifications"}),
    "account_hold.placed": ("frontoffice", {"payments"}),
    "account_hold.released": ("frontoffice", {"payments"}),
    "financial_assistance.approved": ("frontoffice", {"payments", "notifications"}),
    "financing.referred": ("frontoffice", {"payments", "financing"}),
    "notification.sent": ("notifications", {"operations"}),
    "notification.failed": ("notifications", {"operations"}),
}


def test_catalogue_matches_the_topic_table():
    assert set(TOPICS) == set(CONTRACT)
    for spec in CATALOGUE.values():
        assert re.fullmatch(r"[a-z_.]+\.v\d+", spec.type)
        assert (spec.publisher, set(spec.consumers)) == CONTRACT[spec.topic], spec.topic


def _payment(account: str | None = "acct-1", claim: uuid.UUID | None = None) -> PaymentPosted:
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="patient" if claim is None else "insurer",
        claim_id=claim,
        account_id=account,
        amount=Decimal("12.30"),
        method="card",
        posted_at=datetime.now(UTC),
    )


def test_binary_mode_headers_round_trip_with_correlation_and_trace():
    context.start("corr-123", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    event = new_event(_payment(), source="/services/payments")
    topic, key, value, headers = encode(event)
    h = dict(headers)
    assert topic == "payment.posted" and key == b"acct-1"
    assert h["ce_specversion"] == b"1.0" and h["ce_type"] == b"payment.posted.v1"
    assert h["content-type"] == b"application/json" and h["ce_source"] == b"/services/payments"
    assert h["ce_correlationid"] == b"corr-123"
    assert h["ce_traceparent"].startswith(b"00-0af7651916cd43dd8448eb211c80319c-")
    assert json.loads(value)["amount"] == "12.30", "money travels as a decimal string"
    back = decode(topic, key, value, headers)
    assert back.id == event.id and back.data == event.data and back.correlation_id == "corr-123"
    context.reset()


def test_key_is_the_aggregate_id():
    claim = uuid.uuid4()
    assert encode(new_event(_payment(claim=claim), source="/t"))[1] == str(claim).encode()


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda h, v: ([x for x in h if x[0] != "ce_id"], v), "missing CloudEvents header ce_id"),
        (lambda h, v: ([(k, b"nope" if k == "ce_type" else x) for k, x in h], v), "unknown ce_type"),
        (lambda h, v: (h, b"[1,2"), "payload is not valid JSON"),
        (
            lambda h, v: (h, json.dumps({**json.loads(v), "amount": "12.345"}).encode()),
            "amount: decimal_max_places",
        ),
    ],
)
def test_decode_rejects_broken_events_with_a_reason(mutate, reason):
    topic, key, value, headers = encode(new_event(_payment(), source="/t"))
    headers, value = mutate(headers, value)
    with pytest.raises(InvalidEvent, match=re.escape(reason)):
        decode(topic, key, value, headers)


def test_committed_asyncapi_document_is_current():
    committed = (ROOT / "docs" / "asyncapi.json").read_text()
    assert committed == render(), "regenerate: python -m shared.events.asyncapi > docs/asyncapi.json"
    doc = json.loads(committed)
    assert doc["asyncapi"].startswith("3.")
    assert set(TOPICS) <= set(doc["channels"])


async def test_aiokafka_works_against_the_pinned_broker(servers):
    """Idempotent produce with headers, group consume and manual commit on the broker in use."""
    if servers.mode == "local":
        pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
        pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom).group(1)
        jars = list((ROOT / ".state" / "kafka" / "lib").glob("kafka_2.13-*.jar"))
        assert [j.name for j in jars] == [f"kafka_2.13-{pinned}.jar"]
    topic = unique("compat")
    await ensure_topics(servers.kafka, [topic])  # the broker creates no topic by itself
    producer = AIOKafkaProducer(**client_kwargs(servers.kafka), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(50):
            await producer.send(topic, value=str(i).encode(), key=b"k", headers=[("ce_id", str(i).encode())])
        await producer.flush()
    finally:
        await producer.stop()
    group = unique("g")
    consumer = AIOKafkaConsumer(
        topic,
        **client_kwargs(servers.kafka),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        seen: list[bytes] = []
        while len(seen) < 50:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                seen += [r.value for r in records]
                assert all(dict(r.headers)["ce_id"] == r.value for r in records)
        await consumer.commit()
        assert seen == [str(i).encode() for i in range(50)], "one key keeps its order"
    finally:
        await consumer.stop()
