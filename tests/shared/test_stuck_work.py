"""Stuck work is visible (issue 16, item 7), and every service's ops overview.

Each service declares stuck-work probes; a background round evaluates them every few seconds
(here 0.3 s) and caches what it saw, so readiness shows `stuck:<queue>` as "warn" (never
"fail": the service still works, a person has to look), Prometheus has the counts and ages,
and `GET /v1/ops/overview` gives the ops page one JSON per service. Everything runs against the
real PostgreSQL and Kafka; each test has its own consumer group, started at the end of its
topics, so the shared broker's history is not the test's.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.app import create_app
from shared.config import Settings
from shared.deadletters.domain import dead_letter_headers
from shared.events.catalogue import dlq_topic
from shared.kafka import client_kwargs, ensure_topics
from tests.claims.helpers import make_claim, post_submitted_claim
from tests.conftest import as_admin, eventually, service_definition, start_group_at_end, token, unique
from tests.payments.helpers import make_835, make_clp, post_835
from tests.shared.helpers import closed_port

OPS_READ = token("ops:read")
OVERVIEW = "/v1/ops/overview"
DAY = 86400.0


@contextlib.asynccontextmanager
async def running(
    name: str, settings: Settings, **overrides: Any
) -> AsyncIterator[tuple[Any, httpx.AsyncClient, str]]:
    """A service whose stuck-work round runs every 0.3 s, with a consumer group of its own that
    starts at the end of its topics; (app, client, group)."""
    prefix = f"stuck-{uuid.uuid4().hex[:8]}-"
    ours = settings.model_copy(
        update={"consumer_group_prefix": prefix, "stuck_work_every_seconds": 0.3, **overrides}
    )
    definition = service_definition(name)
    if "kafka_bootstrap_servers" not in overrides:
        await start_group_at_end(ours.kafka_bootstrap_servers, prefix + name, list(definition.handlers))
    app = create_app(definition, ours)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=60) as client:
            yield app, client, prefix + name


async def overview(client: httpx.AsyncClient) -> dict[str, Any]:
    resp = await client.get(OVERVIEW, headers=OPS_READ)
    assert resp.status_code == 200, resp.text
    return resp.json()


def queue_of(body: dict[str, Any], queue: str) -> dict[str, Any] | None:
    return next((q for q in body["stuck_work"] if q["queue"] == queue), None)


def gauge(text: str, metric: str, service: str, queue: str) -> float | None:
    """A stuck-work gauge's value in a Prometheus text exposition, None when absent."""
    pattern = rf'^{metric}\{{queue="{re.escape(queue)}",service="{service}"\}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def warned(client: httpx.AsyncClient, queue: str) -> httpx.Response | None:
    """Readiness once it shows `stuck:<queue>` as a warning."""
    ready = await client.get("/health/ready")
    check = ready.json()["checks"].get(f"stuck:{queue}")
    return ready if check and check[0]["status"] == "warn" else None


async def test_a_claim_left_submitted_past_its_window_warns_in_readiness_metrics_and_overview(
    settings, admin
):
    async with running("claims", settings) as (_, client, _group):
        late = await post_submitted_claim(client, settings, make_claim())
        await admin.execute(
            "UPDATE claims.claims SET submitted_at = submitted_at - interval '3 days' WHERE id = $1",
            uuid.UUID(late["id"]),
        )
        accepted = await post_submitted_claim(client, settings, make_claim())
        await admin.execute(
            "UPDATE claims.claims SET status = 'accepted', submitted_at = submitted_at - interval '46 days' "
            "WHERE id = $1",
            uuid.UUID(accepted["id"]),
        )

        ready = await eventually(
            lambda: warned(client, "claims:submitted-no-277ca"), timeout=30, what="readiness warns"
        )
        assert ready.status_code == 200, "stuck work warns; it never makes the service unready"
        body = ready.json()
        assert body["status"] == "warn"
        [check] = body["checks"]["stuck:claims:submitted-no-277ca"]
        assert check["observedValue"] >= 1 and check["observedUnit"] == "claims"
        assert body["checks"]["stuck:claims:accepted-no-835"][0]["status"] == "warn"

        text = (await client.get("/metrics")).text
        assert gauge(text, "stuck_work_items", "claims", "claims:submitted-no-277ca") >= 1
        assert (
            gauge(text, "stuck_work_oldest_age_seconds", "claims", "claims:submitted-no-277ca")
            >= 3 * DAY - 60
        )
        assert gauge(text, "stuck_work_items", "claims", "claims:accepted-no-835") >= 1

        seen = await overview(client)
        submitted = queue_of(seen, "claims:submitted-no-277ca")
        assert submitted is not None and submitted["state"] == "warn" and submitted["count"] >= 1
        assert submitted["oldest_age_seconds"] >= 3 * DAY - 60
        assert queue_of(seen, "claims:accepted-no-835")["oldest_age_seconds"] >= 46 * DAY - 60
        assert seen["health"]["checks"]["stuck:claims:submitted-no-277ca"][0]["status"] == "warn"


async def test_an_unmatched_835_item_shows_in_payments(settings):
    thresholds = {"payments:unmatched": {"warn_age_seconds": 0}}
    async with running("payments", settings, stuck_work_thresholds=thresholds) as (_, client, _group):
        posted = await post_835(
            client,
            make_835(
                unique("TRN"), [make_clp(unique("PCN"), "1", "100.00", "80.00", cas=[("CO", "45", "20.00")])]
            ),
        )
        assert posted.status_code in (200, 201, 202), posted.text

        async def listed() -> dict[str, Any] | None:
            found = queue_of(await overview(client), "payments:unmatched")
            return found if found and found["count"] >= 1 and found["state"] == "warn" else None

        unmatched = await eventually(listed, timeout=30, what="unmatched item in the overview")
        assert unmatched["oldest_age_seconds"] is not None
        ready = await eventually(lambda: warned(client, "payments:unmatched"), timeout=30, what="warn")
        assert ready.status_code == 200
        assert (
            gauge((await client.get("/metrics")).text, "stuck_work_items", "payments", "payments:unmatched")
            >= 1
        )
        for queue in ("payments:remittance-reviews", "payments:payer-needed"):
            assert queue_of(await overview(client), queue) is not None, queue


async def park(producer: Any, group: str, topic: str) -> None:
    """A record on `topic`'s dead-letter topic as `group`'s consumer parks one (the consumer's
    own headers), without poisoning the shared topic every other group reads."""
    original = SimpleNamespace(
        topic=topic, partition=0, offset=0, headers=[("ce_id", str(uuid.uuid4()).encode())]
    )
    headers = dead_letter_headers(
        original, group=group, error="handler: stuck-work test", attempts=3, reason="rule"
    )
    await producer.send_and_wait(dlq_topic(topic), value=b"{}", key=b"stuck-test", headers=headers)


async def test_a_dead_letter_shows_with_its_count_and_readiness_stays_200(settings, producer):
    async with running("payments", settings) as (_, client, group):
        await park(producer, group, "claim.submitted")

        async def counted() -> dict[str, Any] | None:
            body = await overview(client)
            letters = {d["topic"]: d for d in body["dead_letters"]}
            return body if letters.get("claim.submitted", {}).get("count") == 1 else None

        body = await eventually(counted, timeout=30, what="dead letter counted")
        letters = {d["topic"]: d for d in body["dead_letters"]}
        assert set(letters) == set(service_definition("payments").handlers)
        assert letters["claim.submitted"]["newest_age_seconds"] is not None
        assert letters["remittance.received"] == {
            "topic": "remittance.received",
            "count": 0,
            "newest_age_seconds": None,
        }
        parked = queue_of(body, "payments:dead-letters")
        assert parked == {**parked, "count": 1, "state": "warn"}
        assert queue_of(body, "payments:dead-letters-last-hour")["count"] == 1

        ready = await eventually(lambda: warned(client, "payments:dead-letters"), timeout=30, what="warn")
        assert ready.status_code == 200 and ready.json()["status"] == "warn"
        text = (await client.get("/metrics")).text
        assert gauge(text, "stuck_work_items", "payments", "payments:dead-letters") == 1
        assert 'dead_letters_parked{service="payments",topic="claim.submitted"} 1.0' in text


async def test_the_overview_needs_ops_read_answers_the_contract_and_is_audited(settings):
    subject = unique("ops")
    async with running("notifications", settings) as (_, client, group):
        assert (await client.get(OVERVIEW)).status_code == 401
        refused = await client.get(OVERVIEW, headers=token("notifications:read", subject=subject))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"

        resp = await client.get(OVERVIEW, headers=token("ops:read", subject=subject))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) == {"service", "health", "consumers", "outbox", "dead_letters", "stuck_work"}
        assert body["service"] == "notifications"
        assert body["health"]["serviceId"] == "notifications" and "checks" in body["health"]
        assert set(body["outbox"]) == {"backlog", "oldest_age_seconds"}
        assert isinstance(body["outbox"]["backlog"], int)
        topics = set(service_definition("notifications").handlers)
        assert {c["topic"] for c in body["consumers"]} == topics
        for consumer in body["consumers"]:
            assert consumer["group"] == group
            assert isinstance(consumer["lag"], int) and consumer["lag"] >= 0, consumer
        for queue in body["stuck_work"]:
            assert set(queue) == {"queue", "count", "oldest_age_seconds", "state"}
            assert queue["state"] in ("ok", "warn")
        queues = {q["queue"] for q in body["stuck_work"]}
        assert {"notifications:deliveries-overdue", "notifications:deliveries-failed"} <= queues

        audit = await client.get("/v1/audit", params={"actor": subject}, headers=OPS_READ)
        entries = [(e["resource_type"], e["action"], e["resource_id"], e["outcome"]) for e in audit.json()]
        # What was read, and by whom, is in the trail; so is the refused try (issue 17: refusals
        # are audited, with the actor the token names and no resource).
        assert entries == [
            ("ops_overview", "read", "notifications", "success"),
            ("ops_overview", "read", None, "denied"),
        ]


async def test_consumer_lag_is_a_number_against_the_real_broker(settings, producer):
    """Committed offsets of a group against the topic's end: three records past the group's
    position are a lag of three."""
    from shared.kafka import consumer_lag

    topic = "test.stuck-work.lag"
    bootstrap = as_admin(settings.kafka_bootstrap_servers)
    await ensure_topics(bootstrap, [topic])
    group = unique("lag-group")
    await start_group_at_end(bootstrap, group, [topic])
    for n in range(3):
        await producer.send_and_wait(topic, value=b"x", key=f"k{n}".encode(), partition=n % 3)
    assert await consumer_lag(bootstrap, group, [topic], timeout=10) == {topic: 3}

    # A group that never committed on a topic lags by everything the topic holds.
    fresh = unique("lag-fresh")
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap))
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(3)]
        held = sum((await consumer.end_offsets(parts)).values()) - sum(
            (await consumer.beginning_offsets(parts)).values()
        )
    finally:
        await consumer.stop()
    assert await consumer_lag(bootstrap, fresh, [topic], timeout=10) == {topic: held}


async def test_the_overview_answers_with_kafka_away_and_says_why_the_lag_is_unknown(settings):
    away = f"127.0.0.1:{closed_port()}"
    async with running(
        "notifications", settings, kafka_bootstrap_servers=away, health_timeout_seconds=1.0
    ) as (
        _,
        client,
        _group,
    ):
        body = await overview(client)
    assert body["health"]["status"] == "fail"
    assert body["consumers"], "every consumed topic is listed"
    for consumer in body["consumers"]:
        assert consumer["lag"] is None and consumer["error"], consumer
