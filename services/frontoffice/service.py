"""What the front office service is: its routes, the events it consumes, its workers.

A skeleton for now: the schema, role, principal and migrations exist so the sub-domains
(patients, tickets, assistance) can be added one at a time, each registering its routers,
handlers and workers here.
"""

from services.frontoffice.reports import api as ticket_reports
from services.frontoffice.servicelevels import api as servicelevels
from services.frontoffice.servicelevels.workers import WORKERS as SLA_WORKERS
from services.frontoffice.tickets import api as tickets
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="frontoffice",
    title="Front office",
    description="Patients and their coverage, billing inquiries and disputes, financial assistance: "
    "the registry the other services read through events, the tickets billing staff work, and "
    "the practice's financial assistance policy with its screenings and applications.",
    routers=[tickets.router, servicelevels.router, ticket_reports.router],
    handlers={},
    tags=[
        {
            "name": "tickets",
            "description": "Billing inquiries and disputes: assignment, status, notes, resolution codes, "
            "service levels with escalation, the hold a dispute places, and their reports.",
        },
    ],
    workers=[*SLA_WORKERS],
)
