"""Eligibility's fixtures: the payer sandbox (real HTTP on an ephemeral port) and the service
(in-process ASGI, real PostgreSQL and Kafka) pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from deploy.payer_sandbox.testing import running_sandbox
from services.eligibility.service import SERVICE
from services.eligibility.settings import EligibilitySettings
from shared.app import create_app
from shared.config import Settings
from tests.conftest import start_group_at_end
from tests.eligibility.helpers import make_payers_override


@pytest.fixture(scope="session", autouse=True)
def eligibility_reads_claims_from_now(settings: Settings) -> None:
    """Eligibility counts authorized visits from claim.submitted: its consumer group of this
    session starts at the end of that topic, so it does not first read every claim anyone
    ever sent on the shared broker."""
    group = settings.consumer_group_prefix + "eligibility"
    asyncio.run(start_group_at_end(settings.kafka_bootstrap_servers, group, ["claim.submitted"]))


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[Any]:
    async with running_sandbox() as handle:
        yield handle


@pytest.fixture
def eligibility(settings: Settings, sandbox: Any) -> Callable[..., Any]:
    """`async with eligibility(**changes) as (app, client)`: the service with its lifespan
    running. Changes named like EligibilitySettings fields set those; the rest are payer
    connectivity changes for every sandbox payer (timeouts, retries, breaker, rate limit)."""

    @contextlib.asynccontextmanager
    async def running(**changes: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        service_changes = {k: changes.pop(k) for k in list(changes) if k in EligibilitySettings.model_fields}
        app = create_app(SERVICE, settings)
        app.state.eligibility_settings = EligibilitySettings(
            payers_override=make_payers_override(sandbox.base_url, **changes), **service_changes
        )
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://eligibility", timeout=60
            ) as client:
                yield app, client

    return running
