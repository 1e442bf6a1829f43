"""Fixtures of the front office tests: the front office app in process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.config import Settings


@contextlib.asynccontextmanager
async def frontoffice_service(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The front office app with its lifespan (the outbox relay publishes what it writes)."""
    from services.frontoffice.service import SERVICE
    from shared.app import create_app

    app = create_app(SERVICE, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://frontoffice") as client:
            yield app, client


@pytest.fixture(name="frontoffice")
def frontoffice_fixture(settings: Settings) -> Any:
    """`async with frontoffice() as (app, client)`."""
    return lambda: frontoffice_service(settings)
