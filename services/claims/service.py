"""What the claims service is: its routes and the events it consumes."""

from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="claims",
    title="Claims service",
    description="Claim creation, scrubbing, 837P submission, follow-up, denials, appeals "
    "and secondary billing.",
)
