"""What the claims service is: its routes, the events it consumes and its background work."""

from services.claims import denials, followups, reports, routes
from services.claims.handlers import HANDLERS
from shared.app import ServiceDefinition, Worker

SERVICE = ServiceDefinition(
    name="claims",
    title="Claims service",
    description="Claim creation, scrubbing, 837P submission, follow-up, denials, appeals "
    "and secondary billing.",
    routers=[routes.router, denials.appeals_router, denials.denials_router, followups.router, reports.router],
    handlers=HANDLERS,
    workers=[Worker("followups", followups.step, every_seconds=60.0)],
    tags=[
        {"name": "claims", "description": "Create, scrub, submit (837P), correct and void claims."},
        {"name": "denials", "description": "The denials work queue and appeals."},
        {"name": "follow-up", "description": "Claims the payer has not answered in time."},
        {"name": "reports", "description": "A/R aging and billing KPIs."},
    ],
)
