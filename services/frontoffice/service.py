"""What the front office service is: its routes, the events it consumes, its workers.

A skeleton for now: the schema, role, principal and migrations exist so the sub-domains
(patients, tickets, assistance) can be added one at a time, each registering its routers,
handlers and workers here.
"""

from services.frontoffice.coverages.api import router as coverages_router
from services.frontoffice.discrepancies import api as discrepancies_api, events as discrepancies_events
from services.frontoffice.patients.api import router as patients_router
from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="frontoffice",
    title="Front office",
    description="Patients and their coverage, billing inquiries and disputes, financial assistance: "
    "the registry the other services read through events, the tickets billing staff work, and "
    "the practice's financial assistance policy with its screenings and applications.",
    routers=[
        # registry
        patients_router,
        coverages_router,
        discrepancies_api.router,
    ],
    handlers={
        # registry
        **discrepancies_events.HANDLERS,
    },
    tags=[
        # registry
        {
            "name": "patients",
            "description": "Register, find and change patients; every change kept and published.",
        },
        {
            "name": "coverages",
            "description": "A patient's coverages in order: add, correct, terminate, reorder.",
        },
        {
            "name": "discrepancies",
            "description": "Where a payer's 271 disagrees with the registry: accept or reject.",
        },
    ],
)
