"""Fixtures of the front office tests: the frontoffice app in process (with or without its
consumer), its consumer group started at the end of its topics, and tokens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.conftest import start_group_at_end, token


@pytest.fixture(scope="session")
def frontoffice_consumer_from_now(settings: Any) -> Iterator[None]:
    """The front office's consumer group of this session starts at the end of its topics, so
    it does not first read what other runs left on the shared broker."""
    from services.frontoffice.service import SERVICE

    group = settings.consumer_group_prefix + "frontoffice"
    if SERVICE.handlers:
        asyncio.run(start_group_at_end(settings.kafka_bootstrap_servers, group, list(SERVICE.handlers)))
    yield


@contextlib.asynccontextmanager
async def frontoffice_service(
    settings: Any, *, events: bool = False, workers: bool = False, **changes: Any
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The frontoffice app in process with its outbox relay. With `events`, it returns once its
    consumer owns partitions; without, it has no consumer (no group churn for API tests).
    Workers run only when asked (a worker's test calls its step itself, with the moment it
    needs); `changes` are FrontofficeSettings fields (escalation contacts, batch sizes)."""
    from services.frontoffice.service import SERVICE
    from services.frontoffice.settings import FrontofficeSettings
    from shared.app import create_app

    definition = replace(
        SERVICE, handlers=SERVICE.handlers if events else {}, workers=SERVICE.workers if workers else []
    )
    app = create_app(definition, settings)
    app.state.frontoffice_settings = FrontofficeSettings(**changes)
    async with app.router.lifespan_context(app):
        if events and definition.handlers:
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://frontoffice") as client:
            yield app, client


@pytest.fixture(name="frontoffice")
def frontoffice_fixture(settings: Any, frontoffice_consumer_from_now: None) -> Callable[..., Any]:
    """`async with frontoffice() as (app, client)`; `frontoffice(events=True)` to consume;
    `frontoffice(breach_batch=10)` with settings of its own."""
    return lambda events=False, workers=False, **changes: frontoffice_service(
        settings, events=events, workers=workers, **changes
    )


@pytest.fixture
def auth(settings: Any) -> Callable[..., dict[str, str]]:
    """`auth("patients:write", subject="clerk-1")`: an Authorization header for these scopes."""
    return lambda *scopes, subject="test-user": token(*scopes, subject=subject, settings=settings)
