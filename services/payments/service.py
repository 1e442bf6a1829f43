"""What the payments service is: its routes and the events it consumes."""

from services.payments import patient_payments
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="payments",
    title="Payments service",
    description="Posts insurer (835) and patient payments to append-only ledgers, checks them against "
    "contracts, issues statements, runs payment plans and refers accounts to collections.",
    routers=[patient_payments.router],
    tags=[
        {
            "name": "patient payments",
            "description": "Card, check, cash and ACH payments with an "
            "Idempotency-Key; the ledger and its derived balance.",
        }
    ],
)
