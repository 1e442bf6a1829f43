"""What the ops console is: its page and the JSON routes the page calls. No database, no
consumer: it reads the six services over HTTP with the operator's token."""

from services.ops.console import api as console
from services.ops.console.usecases import services_client
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="ops",
    title="Ops console",
    description="One page for operations staff: health per service, consumer lag, outbox backlog, "
    "dead letters with replay and stuck work, read from every service's /v1/ops routes with the "
    "operator's own token.",
    routers=[console.page, console.router],
    tags=[
        {
            "name": "console",
            "description": "Every service's operations view in one answer (ops:read); "
            "replay or discard a dead letter in any service (ops:replay).",
        },
    ],
    lifespan=services_client,
    database=False,
)
