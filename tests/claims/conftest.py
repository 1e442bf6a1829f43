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

from tests.claims.helpers import TEST_EHR_SOURCE
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
