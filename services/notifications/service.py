"""What the notifications service is: its routes and the events it consumes."""

from services.notifications import inbox
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="notifications",
    title="Notifications service",
    description="Tells patients and staff what happened, once, by email, SMS or the in-app inbox, "
    "with no more protected health information than the recipient needs.",
    routers=[inbox.router],
    handlers={"payment.posted": inbox.on_payment_posted},
    tags=[{"name": "inbox", "description": "In-app messages per recipient."}],
)
