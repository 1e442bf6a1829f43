"""What the gateway service is: its routes, the events it consumes, its mailbox workers."""

from services.gateway.claimstatus import api as claimstatus_api, events as claimstatus_events
from services.gateway.claimstatus.workers import WORKERS as CLAIM_STATUS_WORKERS
from services.gateway.settings import secret_problems
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="gateway",
    title="Clearinghouse gateway",
    description="Exchanges X12 files with clearinghouses through their SFTP mailboxes: 837 and 276 "
    "batches out; TA1, 999, 277CA, 277 and 835 in, each taken exactly once and kept as received.",
    routers=[claimstatus_api.router],
    handlers={**claimstatus_events.HANDLERS},
    tags=[{"name": "claim-status", "description": "276/277 claim status inquiries (005010X212)."}],
    secret_problems=secret_problems,
    workers=[*CLAIM_STATUS_WORKERS],
)
