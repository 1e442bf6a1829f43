"""What the gateway service is: its routes, the events it consumes, its mailbox workers."""

from services.gateway.inbound import api as inbound_api, workers as inbound_workers
from services.gateway.settings import GatewaySettings, secret_problems
from shared.app import ServiceDefinition, Worker

SERVICE = ServiceDefinition(
    name="gateway",
    title="Clearinghouse gateway",
    description="Exchanges X12 files with clearinghouses through their SFTP mailboxes: 837 and 276 "
    "batches out; TA1, 999, 277CA, 277 and 835 in, each taken exactly once and kept as received.",
    routers=[inbound_api.router],
    handlers={},
    tags=[
        {
            "name": "received files",
            "description": "Files in: manual upload, received files, the review queue.",
        },
    ],
    stuck_work=[*inbound_workers.PROBES],
    secret_problems=secret_problems,
    workers=[
        Worker(
            "process-received",
            inbound_workers.process_received,
            every_seconds=GatewaySettings().process_every_seconds,
        ),
    ],
)
