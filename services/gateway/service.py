"""What the gateway service is: its routes, the events it consumes, its mailbox workers."""

from services.gateway.settings import secret_problems
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="gateway",
    title="Clearinghouse gateway",
    description="Exchanges X12 files with clearinghouses through their SFTP mailboxes: 837 and 276 "
    "batches out; TA1, 999, 277CA, 277 and 835 in, each taken exactly once and kept as received.",
    routers=[],
    handlers={},
    tags=[],
    secret_problems=secret_problems,
    workers=[],
)
