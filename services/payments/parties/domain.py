"""What payments keeps of a patient's people, without I/O: the minimum a statement and the
collections agency need (name, mailing address, phone), and who the guarantor is, from an
encounter or from the registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.catalogue import Demographics, EncounterCompleted, PatientUpdated, Person

# X12 individual relationship code (1069), the patient to the subscriber: 01 spouse, 19 child
# (so the subscriber is the child's parent), 18 self.
_RELATIONSHIP = {"18": "self", "01": "spouse", "19": "parent"}


def contact(person: Person | Demographics) -> dict[str, Any]:
    """Name, address and phone: never the birth date or gender the EHR sent too."""
    address = person.address.model_dump(mode="json") if person.address else None
    return {"name": f"{person.first_name} {person.last_name}", "address": address, "phone": person.phone}


def guarantor_of(encounter: EncounterCompleted) -> tuple[Person | None, str]:
    """Who owes the patient's share, and how they relate to the patient: the encounter's
    guarantor; else the primary coverage's subscriber when the patient is not the subscriber;
    else the patient."""
    if encounter.guarantor is not None:
        return encounter.guarantor, "guarantor"
    primary = next((c for c in encounter.coverages if c.order == "primary"), None)
    if primary is not None and primary.subscriber is not None and primary.relationship_code != "18":
        return primary.subscriber, _RELATIONSHIP.get(primary.relationship_code, "other")
    return encounter.patient, "self"


def party_row(encounter: EncounterCompleted, received_at: datetime) -> dict[str, Any] | None:
    """The encounter's `encounter_parties` row; None when the EHR sent no patient."""
    if encounter.patient is None:
        return None
    guarantor, relationship = guarantor_of(encounter)
    patient = contact(encounter.patient)
    return {
        "encounter_id": encounter.encounter_id,
        "account_id": encounter.patient_id,
        "date_of_service": encounter.date_of_service,
        "patient": patient,
        "guarantor": contact(guarantor) if guarantor is not None else patient,
        "relationship": relationship,
        "received_at": received_at,
    }


def registry_row(update: PatientUpdated, received_at: datetime) -> dict[str, Any]:
    """The account's `registry_parties` row from the registry's whole record. The guarantor's
    relationship code is read as in the encounter's coverage (X12 1069, the patient to the
    guarantor: 19, the patient is their child, so the guarantor is a parent); no person, or
    18, means the patient answers for the bill."""
    patient = contact(update.patient)
    person, code = update.guarantor.person, update.guarantor.relationship_code
    self_pay = person is None or code == "18"
    return {
        "account_id": update.patient_id,
        "revision": update.revision,
        "patient": patient,
        "guarantor": patient if self_pay else contact(person),  # type: ignore[arg-type]
        "relationship": "self" if self_pay else _RELATIONSHIP.get(code, "other"),
        "changed_at": update.changed_at,
        "received_at": received_at,
    }
