"""What the eligibility service is: its routes, the events it consumes, its background work,
and the per-process resources its lifespan makes and closes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.eligibility.authorizations import (
    api as authorizations_api,
    events as authorizations_events,
    workers as authorizations_workers,
)
from services.eligibility.batches import api as batches_api
from services.eligibility.checks import api as checks_api, usecases as checks, workers as checks_workers
from services.eligibility.estimates import api as estimates_api, events as estimates_events
from services.eligibility.estimates.usecases import load_default_schedule
from services.eligibility.payers.usecases import open_client
from services.eligibility.registry import events as registry_events
from services.eligibility.settings import get_eligibility_settings, secret_problems
from shared.app import ServiceDefinition, Worker

_settings = get_eligibility_settings()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The payer client (HTTP connections, a breaker and a rate limiter per payer), the checks
    runtime (vault, checks still running for requests that stopped waiting) and the default fee
    schedule, for the life of the app; closed when it stops."""
    settings = getattr(app.state, "eligibility_settings", None) or get_eligibility_settings()
    app.state.eligibility_settings = settings
    app.state.fee_schedule = load_default_schedule(settings.fee_schedule_file, settings.outpatient_rates_file)
    async with open_client(settings) as payers, checks.running(settings, payers) as runtime:
        app.state.payers, app.state.checks = payers, runtime
        yield


SERVICE = ServiceDefinition(
    name="eligibility",
    title="Eligibility service",
    description="Coverage checks over X12 270/271 (also run from the front office's registry, "
    "whose disagreements with a 271 it reports), patient estimates, referrals and prior authorizations.",
    routers=[checks_api.router, batches_api.router, estimates_api.router, authorizations_api.router],
    handlers={
        "fee_schedule.updated": estimates_events.on_fee_schedule_updated,
        **authorizations_events.HANDLERS,
        **registry_events.HANDLERS,
    },
    lifespan=lifespan,
    secret_problems=secret_problems,
    stuck_work=checks_workers.PROBES,
    workers=[
        Worker("checks", checks_workers.run_pending, every_seconds=_settings.worker_interval_seconds),
        Worker(
            "authorization-alerts",
            authorizations_workers.alert_worker,
            every_seconds=_settings.authorization_interval_seconds,
        ),
    ],
    tags=[
        {
            "name": "eligibility",
            "description": "Coverage checks (X12 270/271) one at a time or in batches; the raw X12 "
            "needs the `eligibility:x12` scope and every read is audited.",
        },
        {"name": "estimates", "description": "What the patient will likely owe, with the arithmetic."},
        {"name": "authorizations", "description": "Referrals and prior authorizations on file."},
    ],
)
