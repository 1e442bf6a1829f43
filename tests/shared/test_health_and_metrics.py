"""Honest health and Prometheus metrics."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import eventually, token, unique


async def test_ready_reports_every_dependency_in_health_json(service):
    async with service("claims") as (_, client):
        live = await client.get("/health/live")
        assert live.status_code == 200 and live.json()["status"] == "pass"
        ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.headers["content-type"] == "application/health+json"
    body = ready.json()
    assert body["status"] in ("pass", "warn")
    base = {"postgresql:responseTime", "kafka:connection", "outbox:backlog", "outbox:oldestAge"}
    assert base <= set(body["checks"])
    # Besides those, only stuck-work warnings (other tests' claims in the shared database).
    assert all(name.startswith("stuck:") for name in set(body["checks"]) - base), body["checks"]
    assert body["checks"]["kafka:connection"][0]["status"] == "pass"
    assert isinstance(body["checks"]["outbox:backlog"][0]["observedValue"], int)


async def open_account(client: Any, account: str) -> None:
    """A charge, so payments knows the account (it takes money for known accounts only)."""
    charged = await client.post(
        f"/v1/accounts/{account}/charges",
        json={"amount": "10.00", "description": "Visit"},
        headers={**token("payments:write"), "Idempotency-Key": unique("k")},
    )
    assert charged.status_code == 201, charged.text


async def test_metrics_count_requests_by_route_and_events_by_topic(service):
    account = unique("acct")
    async with service("payments") as (_, client):
        await open_account(client, account)
        await client.post(
            f"/v1/accounts/{account}/payments",
            json={"amount": "3.00", "method": "cash"},
            headers={**token("payments:write"), "Idempotency-Key": unique("k")},
        )

        async def published():
            text = (await client.get("/metrics")).text
            return 'events_published_total{service="payments",topic="payment.posted"}' in text and text

        text = await eventually(published)
    assert (
        'http_requests_total{method="POST",route="/v1/accounts/{account_id}/payments",'
        'service="payments",status="201"}'
    ) in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'outbox_backlog{service="payments"}' in text
    assert account not in text, "ids (possible PHI) must never become metric labels"


@pytest.mark.disruptive
async def test_ready_turns_503_when_kafka_stops_and_200_when_it_is_back(service, servers):
    """Also: work accepted while Kafka is down waits in the outbox and is published afterwards."""
    if not servers.can_restart_kafka:
        if servers.mode == "local":
            raise AssertionError("the local broker must be restartable")
        pytest.skip(f"servers from {servers.mode} cannot be stopped by the tests")
    account = unique("acct")
    async with service("payments") as (_, client):
        assert (await client.get("/health/ready")).status_code == 200
        servers.stop_kafka()
        try:
            down = await client.get("/health/ready")
            assert down.status_code == 503
            body = down.json()
            assert body["status"] == "fail"
            assert body["checks"]["kafka:connection"][0]["status"] == "fail"
            assert body["checks"]["postgresql:responseTime"][0]["status"] == "pass"
            assert (await client.get("/health/live")).status_code == 200

            await open_account(client, account)
            accepted = await client.post(
                f"/v1/accounts/{account}/payments",
                json={"amount": "9.99", "method": "cash"},
                headers={**token("payments:write"), "Idempotency-Key": unique("k")},
            )
            assert accepted.status_code == 201
            backlog = (await client.get("/health/ready")).json()["checks"]["outbox:backlog"][0]
            assert backlog["observedValue"] >= 1
        finally:
            servers.start_kafka()

        async def ready_and_drained():
            resp = await client.get("/health/ready")
            return (
                resp.status_code == 200 and resp.json()["checks"]["outbox:backlog"][0]["observedValue"] == 0
            )

        await eventually(ready_and_drained, timeout=90, interval=0.5)
