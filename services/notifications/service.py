"""What the notifications service is: its routes, the events it consumes, its delivery workers."""

from services.notifications.deliveries.workers import PROBES, deliver_due, sender
from services.notifications.inbox import api as inbox
from services.notifications.messages.domain import PLANNERS
from services.notifications.messages.events import on_events
from services.notifications.recipients import api as recipients
from services.notifications.recipients.domain import PUSH_CHANNELS
from services.notifications.reports import api as reports
from services.notifications.settings import secret_problems
from services.notifications.templates import api as templates
from shared.app import ServiceDefinition, Worker
from shared.consumer import batched

SERVICE = ServiceDefinition(
    name="notifications",
    title="Notifications service",
    description="Tells patients and staff what happened, once, by email, SMS or the in-app inbox, "
    "with no more protected health information than the recipient needs.",
    routers=[recipients.router, inbox.router, templates.router, reports.router],
    handlers=dict.fromkeys(PLANNERS, batched(on_events)),
    tags=[
        {"name": "recipients", "description": "The directory: patients' channels, staff roles, preferences."},
        {"name": "inbox", "description": "In-app notifications, their delivery status and history."},
        {"name": "templates", "description": "Versioned message templates and previews."},
        {"name": "reports", "description": "What was sent, counted per channel, status and template."},
    ],
    lifespan=sender,
    secret_problems=secret_problems,
    stuck_work=PROBES,
    workers=[
        Worker(f"{channel}-deliveries", deliver_due(channel), every_seconds=0.2) for channel in PUSH_CHANNELS
    ],
)
