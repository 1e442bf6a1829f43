"""Fixtures of the gateway tests."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from services.gateway.service import SERVICE
from services.gateway.settings import GatewaySettings
from shared.app import create_app
from shared.config import Settings


@pytest.fixture(scope="session")
def settings(settings: Settings) -> Settings:
    """Settings whose consumer group is kept across runs (one per test database), so a fresh
    group does not replay every claim anyone ever submitted on the shared broker."""
    database = os.environ.get("TEST_DATABASE_NAME") or "default"
    return settings.model_copy(update={"consumer_group_prefix": f"test-gateway-{database}-"})


# --- gateway in: the service in-process, partners on app.state (gwin) ----------------------


@pytest.fixture
def gateway(settings: Settings) -> Callable[..., Any]:
    """`async with gateway(**changes) as (app, client)`: the gateway with its lifespan running
    (real PostgreSQL and Kafka); `changes` are GatewaySettings fields. Partners:
    `app.state.gateway_partners.append(partner)` (helpers.make_partner); none by default."""

    @contextlib.asynccontextmanager
    async def running(**changes: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        app = create_app(SERVICE, settings)
        app.state.gateway_settings = GatewaySettings(**changes)
        app.state.gateway_partners = []
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=60
            ) as client:
                yield app, client

    return running


# --- end of gateway in's fixtures ---------------------------------------------------------
