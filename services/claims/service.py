"""What the claims service is: its routes, the events it consumes, its background work and the
resources it holds while it runs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.claims.adjudication import events as adjudication_events
from services.claims.authorizations import events as authorizations_events
from services.claims.claims import api as claims_api
from services.claims.denials import api as denials_api, events as denials_events
from services.claims.flags import api as flags_api
from services.claims.followups import api as followups_api, events as followups_events
from services.claims.followups.workers import PROBES as FOLLOWUP_PROBES, WORKERS
from services.claims.providers import api as providers_api
from services.claims.reference import store as reference
from services.claims.registry import events as registry_events
from services.claims.reports import api as reports_api
from services.claims.scrubbing import events as scrubbing_events
from services.claims.submission import events as submission_events
from shared.app import ServiceDefinition
from shared.consumer import Batched, Handler


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The reference data files, read when the service starts (a broken file stops it there,
    not at the first claim) and forgotten when it stops."""
    reference.load()
    try:
        yield
    finally:
        reference.reload()


HANDLERS: dict[str, Handler | Batched] = {
    **submission_events.HANDLERS,
    **scrubbing_events.HANDLERS,
    **authorizations_events.HANDLERS,
    **adjudication_events.HANDLERS,
    **denials_events.HANDLERS,
    **followups_events.HANDLERS,
    **registry_events.HANDLERS,
}

SERVICE = ServiceDefinition(
    name="claims",
    title="Claims service",
    description="Claim creation, scrubbing, 837P submission, follow-up, denials, appeals "
    "and secondary billing.",
    routers=[
        claims_api.router,
        denials_api.router,
        followups_api.router,
        reports_api.router,
        providers_api.router,
        flags_api.router,
    ],
    handlers=HANDLERS,
    workers=WORKERS,
    stuck_work=FOLLOWUP_PROBES,
    lifespan=lifespan,
    tags=[
        {"name": "claims", "description": "Create, scrub, submit (837P), correct and void claims."},
        {"name": "denials", "description": "The denials work queue and appeals."},
        {"name": "follow-up", "description": "Claims the payer has not answered in time."},
        {"name": "reports", "description": "A/R aging and billing KPIs."},
        {
            "name": "claim flags",
            "description": "Open claims a registry coverage change affects (a corrected member id, a "
            "retroactive termination), with the suggested action; resolved or dismissed by staff.",
        },
        {
            "name": "providers",
            "description": "The practice's provider registry: billing and rendering providers by NPI.",
        },
    ],
)
