"""What the front office service is: its routes, the events it consumes, its workers.

A skeleton for now: the schema, role, principal and migrations exist so the sub-domains
(patients, tickets, assistance) can be added one at a time, each registering its routers,
handlers and workers here.
"""

from shared.app import ServiceDefinition

SERVICE = ServiceDefinition(
    name="frontoffice",
    title="Front office",
    description="Patients and their coverage, billing inquiries and disputes, financial assistance: "
    "the registry the other services read through events, the tickets billing staff work, and "
    "the practice's financial assistance policy with its screenings and applications.",
    routers=[],
    handlers={},
    tags=[],
)
