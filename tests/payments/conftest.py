"""Fixtures of the payments tests."""

from __future__ import annotations

import os

import pytest

from shared.config import Settings


@pytest.fixture(scope="session")
def settings(settings: Settings) -> Settings:
    """Settings whose consumer group is kept across runs (one per test database). On the
    broker the helpers share, a fresh group would replay every claim anyone ever submitted
    before the first test could see its own."""
    database = os.environ.get("TEST_DATABASE_NAME") or "default"
    return settings.model_copy(update={"consumer_group_prefix": f"test-payments-{database}-"})
