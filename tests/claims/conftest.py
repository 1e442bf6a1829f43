"""Fixtures of the claims tests: the claims app in process, with or without its consumer, and
the claims consumer group started at the end of its topics."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.claims.helpers import BILLING_NPI, RENDERING_NPI, TEST_EHR_SOURCE, make_provider, put_provider
from tests.conftest import start_group_at_end


@pytest.fixture(scope="session")
def claims_consumer_from_now(settings: Any) -> Iterator[None]:
    """Start the claims consumer group of this test session at the end of its topics, and take
    encounters only from this session's test EHR source.

    The broker is shared: thousands of other people's encounter.completed events may be
    waiting there (or streaming in from a demo EHR), and each would become a claim that is
    submitted, before this test's own events are reached."""
    from services.claims.reference import store as reference
    from services.claims.service import HANDLERS

    group = settings.consumer_group_prefix + "claims"
    asyncio.run(start_group_at_end(settings.kafka_bootstrap_servers, group, list(HANDLERS)))
    previous = os.environ.get("CLAIMS_ENCOUNTER_SOURCES")
    os.environ["CLAIMS_ENCOUNTER_SOURCES"] = TEST_EHR_SOURCE
    reference.reload()
    yield
    if previous is None:
        os.environ.pop("CLAIMS_ENCOUNTER_SOURCES", None)
    else:
        os.environ["CLAIMS_ENCOUNTER_SOURCES"] = previous
    reference.reload()


@contextlib.asynccontextmanager
async def claims_service(
    settings: Any, *, events: bool = True
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The claims app in process. With events, it returns once its consumer owns partitions
    (a group join can take seconds after another test's consumer left); without, it has no
    consumer at all, so API-only tests cause no group churn for the ones that need events."""
    from services.claims.service import SERVICE
    from shared.app import create_app

    definition = replace(SERVICE, handlers=SERVICE.handlers if events else {}, workers=[])
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        if events:
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://claims") as client:
            yield app, client


@pytest.fixture(name="claims")
def claims_fixture(settings: Any) -> Any:
    """`async with claims() as (app, client)`; `claims(events=False)` for API-only tests."""
    return lambda events=True: claims_service(settings, events=events)


@pytest.fixture(scope="session")
def practice_providers(settings: Any) -> None:
    """The provider registry knows the providers the tests' encounters name (BILLING_NPI, an
    organization that bills; RENDERING_NPI, a person who renders), registered as a practice
    does, through the API: an encounter carries NPIs only, and a claim whose providers the
    registry lacks is held by the scrubber."""

    async def register() -> None:
        async with claims_service(settings, events=False) as (_, client):
            for body in (make_provider(BILLING_NPI), make_provider(RENDERING_NPI, "person")):
                resp = await put_provider(client, body)
                assert resp.status_code in (200, 201), resp.text

    asyncio.run(register())


@pytest.fixture(scope="session")
def payments_consumer_from_now(settings: Any) -> None:
    """Payments' consumer group of this session starts at the end of its topics (the shared
    broker holds everyone's claims)."""
    from services.payments.service import SERVICE

    group = settings.consumer_group_prefix + "payments"
    asyncio.run(start_group_at_end(settings.kafka_bootstrap_servers, group, list(SERVICE.handlers)))
