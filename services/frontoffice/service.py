"""What the front office service is: its routes, the events it consumes, its workers.

A skeleton for now: the schema, role, principal and migrations exist so the sub-domains
(patients, tickets, assistance) can be added one at a time, each registering its routers,
handlers and workers here.
"""

from services.frontoffice.applications import api as applications_api
from services.frontoffice.assistance import api as assistance_api
from services.frontoffice.financing import api as financing_api
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="frontoffice",
    title="Front office",
    description="Patients and their coverage, billing inquiries and disputes, financial assistance: "
    "the registry the other services read through events, the tickets billing staff work, and "
    "the practice's financial assistance policy with its screenings and applications.",
    routers=[
        # financial assistance and financing (the assistance part)
        assistance_api.router,
        applications_api.router,
        financing_api.router,
    ],
    handlers={},
    tags=[
        {
            "name": "financial assistance",
            "description": "The practice's financial assistance policy as data (poverty guidelines by "
            "year, discount tiers by effective date), screenings that say which tier and why, and "
            "applications decided by one person and approved by another.",
        },
        {
            "name": "financing",
            "description": "Referrals of a balance to a healthcare-credit partner and the partner's export.",
        },
    ],
)
