"""Fixtures of the front office tests: the service in process (real PostgreSQL and Kafka)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from shared.config import Settings


@pytest.fixture
def frontoffice(settings: Settings) -> Callable[..., Any]:
    """`async with frontoffice(**changes) as (app, client)`: the front office with its lifespan
    running (outbox relay included) and no background workers (a test runs a worker's step
    itself, with the moment it needs); `changes` are FrontofficeSettings fields."""
    from services.frontoffice.service import SERVICE
    from services.frontoffice.settings import FrontofficeSettings
    from shared.app import create_app

    @contextlib.asynccontextmanager
    async def running(**changes: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        app = create_app(replace(SERVICE, workers=[]), settings)
        app.state.frontoffice_settings = FrontofficeSettings(**changes)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://frontoffice", timeout=30
            ) as client:
                yield app, client

    return running
