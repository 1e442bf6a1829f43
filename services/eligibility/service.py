"""What the eligibility service is: its routes, the events it consumes and its background work."""

from services.eligibility import authorizations, batches, checks, estimates, runtime
from services.eligibility.settings import get_eligibility_settings
from shared.app import ServiceDefinition, Worker

_settings = get_eligibility_settings()

SERVICE = ServiceDefinition(
    name="eligibility",
    title="Eligibility service",
    description="Coverage checks over X12 270/271, patient estimates, referrals and prior authorizations.",
    routers=[checks.router, batches.router, estimates.router, authorizations.router],
    handlers={"fee_schedule.updated": estimates.on_fee_schedule_updated},
    workers=[
        Worker("runtime", runtime.hold, every_seconds=1.0),
        Worker("checks", batches.run_pending, every_seconds=_settings.worker_interval_seconds),
        Worker(
            "authorization-alerts",
            authorizations.alert_worker,
            every_seconds=_settings.authorization_interval_seconds,
        ),
    ],
    tags=[
        {
            "name": "eligibility",
            "description": "Coverage checks (X12 270/271) one at a time or in batches; the raw X12 "
            "needs the `eligibility:x12` scope and every read is audited.",
        },
        {"name": "estimates", "description": "What the patient will likely owe, with the arithmetic."},
        {"name": "authorizations", "description": "Referrals and prior authorizations on file."},
    ],
)
