"""Fixtures of the notifications tests: a mail and SMS sink per module, and a database handle
on the service's schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.smtp_sink.testing import SinkHandle, running_sink
from shared.config import Settings, service_database_url
from shared.db import Database


@pytest.fixture(scope="module")
async def sink() -> AsyncIterator[SinkHandle]:
    """The local mail and SMS sink on ephemeral ports (deploy/smtp_sink/testing.py)."""
    async with running_sink() as handle:
        yield handle


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """The notifications schema as the service's role sees it."""
    database = Database(service_database_url("notifications", settings), "notifications", pool_size=2)
    yield database
    await database.dispose()
