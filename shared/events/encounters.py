"""What the EHR (a partner) publishes: a completed encounter, professional or institutional,
with the patient's demographics and coverages it has on file."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from shared.events.base import Id, Money, Payload
from shared.events.institutional import ClaimType, Institutional, RevenueCode

# --- partner: EHR ------------------------------------------------------------------------


class Address(Payload):
    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=1, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^\d{5}(\d{4})?$")


class Person(Payload):
    """PHI: from the EHR to claims (the 837P) and payments (statements, the collections agency)."""

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    gender: Literal["F", "M", "U"] = "U"
    address: Address | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{10,15}$", description="For the bill.")


class Coverage(Payload):
    """A policy the EHR has on file for the patient (PHI: the member id)."""

    payer_id: Id
    member_id: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9\-]+$")
    order: Literal["primary", "secondary", "tertiary"] = "primary"
    relationship_code: str = Field(
        default="18",
        pattern=r"^\d{2}$",
        description="Patient to subscriber (X12 1069): 18 self, 01 spouse, 19 child.",
    )
    subscriber: Person | None = Field(default=None, description="When the patient is not the subscriber.")
    group_number: str | None = Field(default=None, max_length=50)


class EncounterLine(Payload):
    code: str | None = Field(
        default=None,
        min_length=5,
        max_length=5,
        description="CPT/HCPCS code: on every professional line; on an institutional line when its "
        "revenue code requires one.",
    )
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: int = Field(default=1, ge=1)
    charge: Money = Field(gt=0)
    diagnosis_pointers: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=4)
    revenue_code: RevenueCode | None = Field(default=None, description="Institutional lines (UB-04 FL42).")
    date_of_service: date | None = Field(
        default=None, description="The line's own date (a stay's days); the encounter's when absent."
    )


class EncounterCompleted(Payload):
    """The EHR closed an encounter; its charges become a claim."""

    encounter_id: Id
    patient_id: Id
    payer_id: Id
    billing_provider_npi: str = Field(pattern=r"^\d{10}$")
    rendering_provider_npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    date_of_service: date
    place_of_service: str = Field(pattern=r"^\d{2}$")
    diagnoses: list[str] = Field(
        min_length=1,
        max_length=25,
        description="ICD-10-CM codes, principal first: up to 12 on a professional encounter, 25 on an "
        "institutional one (principal, other and external-cause diagnoses).",
    )
    lines: list[EncounterLine] = Field(min_length=1, max_length=100)
    prior_authorization_number: str | None = None
    kind: ClaimType = Field(
        default="professional",
        description="professional (an 837P) or institutional (an 837I: a hospital stay or facility visit).",
    )
    institutional: Institutional | None = Field(default=None, description="On every institutional encounter.")
    attending_provider_npi: str | None = Field(
        default=None, pattern=r"^\d{10}$", description="Institutional."
    )
    operating_provider_npi: str | None = Field(
        default=None, pattern=r"^\d{10}$", description="Institutional."
    )
    other_operating_provider_npi: str | None = Field(
        default=None, pattern=r"^\d{10}$", description="Institutional."
    )
    patient: Person | None = Field(default=None, description="Demographics for the claim (PHI).")
    coverages: list[Coverage] = Field(
        default_factory=list,
        max_length=3,
        description="Primary first; the primary's payer_id matches payer_id.",
    )
    guarantor: Person | None = Field(
        default=None, description="Who owes the patient's share; else the subscriber, else the patient."
    )

    @model_validator(mode="after")
    def _kind_agrees(self) -> EncounterCompleted:
        """A professional encounter is priced by procedure, an institutional one by revenue code."""
        if self.kind == "institutional":
            if self.institutional is None:
                raise ValueError("institutional: required on an institutional encounter")
            if any(line.revenue_code is None for line in self.lines):
                raise ValueError("lines[].revenue_code: required on an institutional encounter")
        else:
            if self.institutional is not None:
                raise ValueError("institutional: only on an institutional encounter")
            if any(line.code is None for line in self.lines):
                raise ValueError("lines[].code: required on a professional encounter")
            if len(self.diagnoses) > 12:
                raise ValueError("diagnoses: at most 12 on a professional encounter")
        return self
