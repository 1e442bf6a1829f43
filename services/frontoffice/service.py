"""What the front office service is: its routes, the events it consumes, its workers.

Three parts, each a few sub-domains: the registry (patients, coverages, discrepancies),
billing inquiries (tickets, servicelevels, reports) and financial help (assistance,
applications, financing).
"""

from services.frontoffice.applications import api as applications_api
from services.frontoffice.assistance import api as assistance_api
from services.frontoffice.coverages.api import router as coverages_router
from services.frontoffice.discrepancies import api as discrepancies_api, events as discrepancies_events
from services.frontoffice.financing import api as financing_api
from services.frontoffice.patients.api import router as patients_router
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
    routers=[
        # the registry
        patients_router,
        coverages_router,
        discrepancies_api.router,
        # billing inquiries (the tickets part)
        tickets.router,
        servicelevels.router,
        ticket_reports.router,
        # financial assistance and financing (the assistance part)
        assistance_api.router,
        applications_api.router,
        financing_api.router,
    ],
    handlers={
        # the registry
        **discrepancies_events.HANDLERS,
    },
    tags=[
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
        {
            "name": "tickets",
            "description": "Billing inquiries and disputes: assignment, status, notes, resolution codes, "
            "service levels with escalation, the hold a dispute places, and their reports.",
        },
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
    workers=[*SLA_WORKERS],
)
