"""What the gateway service is: its routes, the events it consumes, its mailbox workers."""

from services.gateway.claimstatus import api as claimstatus_api, events as claimstatus_events
from services.gateway.claimstatus.workers import WORKERS as CLAIM_STATUS_WORKERS
from services.gateway.inbound import api as inbound_api, workers as inbound_workers
from services.gateway.mailbox import workers as mailbox_workers
from services.gateway.outbound import events as outbound_events, workers as outbound_workers
from services.gateway.partners.api import router as partners_router
from services.gateway.reports.api import router as reports_router
from services.gateway.settings import GatewaySettings, secret_problems
from shared.app import ServiceDefinition, Worker
from shared.consumer import batched

_settings = GatewaySettings()

SERVICE = ServiceDefinition(
    name="gateway",
    title="Clearinghouse gateway",
    description="Exchanges X12 files with clearinghouses through their SFTP mailboxes: 837 and 276 "
    "batches out; TA1, 999, 277CA, 277 and 835 in, each taken exactly once and kept as received.",
    routers=[partners_router, inbound_api.router, claimstatus_api.router, reports_router],
    handlers={
        "claim.submitted": batched(outbound_events.on_claims_submitted),
        **claimstatus_events.HANDLERS,
    },
    tags=[
        {"name": "partners", "description": "Trading partners (clearinghouses) and their mailbox state."},
        {"name": "received files", "description": "Manual upload, received files, the review queue."},
        {"name": "claim-status", "description": "276/277 claim status inquiries (005010X212)."},
        {"name": "reports", "description": "Files up and down, claims by state."},
    ],
    secret_problems=secret_problems,
    workers=[
        # outbound: claims → files (one commit each) → uploads
        Worker("outbound-batch", outbound_workers.batch, every_seconds=_settings.tick_seconds),
        Worker("outbound-upload", outbound_workers.upload, every_seconds=_settings.tick_seconds),
        # mailbox: each partner's "from" folder at its poll_seconds
        Worker("mailbox-poll", mailbox_workers.poll_due, every_seconds=_settings.tick_seconds),
        # inbound: every kept file identified and acted on, once
        Worker("process-received", inbound_workers.process_received, every_seconds=_settings.process_seconds),
        # claim status: due 276 inquiries asked in real time, or batched into a 276 file
        *CLAIM_STATUS_WORKERS,
    ],
    stuck_work=[*outbound_workers.PROBES, *mailbox_workers.PROBES, *inbound_workers.PROBES],
)
