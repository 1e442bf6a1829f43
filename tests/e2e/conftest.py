"""The platform as `make up` runs it: real services on 8001-8004 and the gateway on 8006, the
payer sandbox on 8010 (its SFTP mailbox on 2222), the SMTP/SMS sink on 8025, PostgreSQL and
Kafka.

The session fixture brings the platform up when it is not running (`deploy/infra.py up` is
idempotent: it starts only what is missing) and, if it started the services, stops them
again when the package's last test is done (PostgreSQL and Kafka stay, as `make test` started
them), so the rest of `make test` runs without the platform's consumers beside it. Nothing here
depends on leftover data: every test makes its own patients, encounters and recipients.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from deploy.payer_sandbox import practice
from shared.kafka import client_kwargs
from tests.e2e.platform import URLS, kafka, platform_ready, wait_until_drained

ROOT = Path(__file__).resolve().parents[2]
# The platform's environment: the test process's as collection found it, before any fixture
# changed it (the claims suites point CLAIMS_ENCOUNTER_SOURCES at their own EHR source for the
# whole session, which would make the platform's claims service ignore the EHR partner), and
# without CLAIMS_RECEIVER_ID, which tests/conftest.py sets for the in-process services only:
# the platform's claims service addresses its 837s to the platform's sandbox.
PLATFORM_ENV = {k: v for k, v in os.environ.items() if k != "CLAIMS_RECEIVER_ID"}


@pytest.fixture(scope="package")
def platform() -> Iterator[None]:
    started = not platform_ready()
    if started:
        # Standard library only, like CI's own calls: starts PostgreSQL, Kafka, migrations and
        # the processes that are not running yet, and waits until each is ready.
        subprocess.run([sys.executable, "deploy/infra.py", "up"], cwd=ROOT, check=True, env=PLATFORM_ENV)
        assert platform_ready(), "deploy/infra.py up returned but the platform is not ready"
    yield
    if started:
        subprocess.run([sys.executable, "deploy/infra.py", "services-down"], cwd=ROOT, check=False)


@pytest.fixture(scope="package")
async def settled(platform: None) -> None:
    """The platform has caught up with what is already on its topics (bounded wait), so each
    story's deadlines measure the story, not someone else's backlog; and the sandbox practice's
    providers are in the claims service's registry (the EHR's encounters name them by NPI
    only), as `make up` leaves them, also when the platform was started another way."""
    await practice.register(URLS["claims"], subject="e2e-suite")
    left = await wait_until_drained()
    if left:
        print(f"\n[e2e: the platform still had {left} records to consume after the wait]")


@pytest.fixture
async def http(settled: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
async def producer(settled: None) -> AsyncIterator[AIOKafkaProducer]:
    """What partners (the EHR, a clearinghouse) publish, sent as the broker's admin."""
    p = AIOKafkaProducer(**client_kwargs(kafka()), acks="all")
    await p.start()
    yield p
    await p.stop()


__all__ = ["URLS"]
