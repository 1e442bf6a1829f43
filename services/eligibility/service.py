"""What the eligibility service is: its routes and the events it consumes."""

from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="eligibility",
    title="Eligibility service",
    description="Coverage checks over X12 270/271, patient estimates, referrals and prior authorizations.",
)
