"""Request and response models of the patient registry.

Demographics and the guarantor are the contract's own models (shared.events.frontoffice), so
what the API takes is exactly what patient.updated carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from shared.events.frontoffice import Demographics, Guarantor
from shared.events.payloads import Address, Id

PatientIdPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9._:\-]{1,64}$",
        description="The practice's patient id (the EHR's), as given at registration.",
        examples=["P-000123"],
    ),
]


class ChangeReason(StrEnum):
    """Why a patient's record changed; every change names one."""

    moved = "moved"
    name_change = "name_change"
    correction = "correction"
    payer_271 = "payer_271"
    registration = "registration"
    other = "other"


EXAMPLE_PATIENT: dict[str, Any] = {
    "first_name": "Maria",
    "last_name": "Lopez",
    "birth_date": "1984-03-09",
    "sex": "F",
    "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
    "phone": "2175550100",
    "email": "maria.lopez@example.org",
}


class PatientIn(BaseModel):
    """A patient to register: the id the practice's EHR uses, who they are, who pays."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"patient_id": "P-000123", "patient": EXAMPLE_PATIENT}]},
    )

    patient_id: Id = Field(description="The practice's (EHR's) patient id; unique in the registry.")
    patient: Demographics
    guarantor: Guarantor = Field(default_factory=Guarantor, description="Default: the patient (18 self).")
    note: str | None = Field(default=None, max_length=500, description="Kept in the history.")


class PatientPatch(BaseModel):
    """The fields to change (only those sent), and why. `null` clears an optional field
    (middle name, address, phone, email); name and birth date cannot be cleared."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "address": {
                        "line1": "400 Oak Ave",
                        "city": "Springfield",
                        "state": "IL",
                        "postal_code": "62701",
                    },
                    "reason": "moved",
                    "note": "Patient called on 2026-12-05",
                }
            ]
        },
    )

    first_name: str | None = Field(default=None, min_length=1, max_length=35)
    middle_name: str | None = Field(default=None, max_length=25)
    last_name: str | None = Field(default=None, min_length=1, max_length=60)
    birth_date: date | None = None
    sex: str | None = Field(default=None, pattern=r"^[FMU]$", description="F, M or U (X12 DMG03).")
    address: Address | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{10,15}$")
    email: str | None = Field(default=None, max_length=254)
    guarantor: Guarantor | None = None
    reason: ChangeReason = Field(description="Why: moved, name_change, correction, payer_271, other.")
    note: str | None = Field(default=None, max_length=500, description="Free text kept in the history.")

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent (JSON form), without reason and note."""
        sent = self.model_fields_set - {"reason", "note"}
        return {name: v for name, v in self.model_dump(mode="json").items() if name in sent}


class PatientOut(BaseModel):
    """A patient as on file now. `revision` is also the ETag: send it as If-Match to change."""

    patient_id: str
    revision: int = Field(description="Grows with every change to the patient or their coverages.")
    patient: Demographics
    guarantor: Guarantor
    created_at: datetime
    updated_at: datetime


class PatientSummary(BaseModel):
    """A search result: enough to tell two patients apart."""

    patient_id: str
    first_name: str
    last_name: str
    birth_date: date
    revision: int


@dataclass
class PatientSearch:
    """Search filters; all optional and combined with AND. Names match case-insensitively,
    `last_name` as a prefix ("lop" finds Lopez)."""

    last_name: Annotated[str | None, Query(min_length=1, max_length=60)] = None
    first_name: Annotated[str | None, Query(min_length=1, max_length=35)] = None
    birth_date: Annotated[date | None, Query(description="Exact date of birth.")] = None
    phone: Annotated[str | None, Query(pattern=r"^\+?[0-9]{10,15}$")] = None
    member_id: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=80,
            pattern=r"^[A-Za-z0-9\-]+$",
            description="A member id on any of the patient's coverages.",
        ),
    ] = None


class HistoryEntry(BaseModel):
    """One change, as kept: who, when, why, which fields, before and after."""

    id: int
    revision: int
    entity: str = Field(description="patient or coverage")
    coverage_id: str | None = None
    kind: str = Field(description="registered, updated, or a coverage change kind (added, terminated…).")
    reason: str
    note: str | None = None
    fields: list[str]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    changed_by: str
    changed_at: datetime


class PatientContact(BaseModel):
    """How to reach a patient about their bill (a financing partner offering the credit they
    asked for): name, phone, email, postal address. The minimum necessary: no birth date, no
    sex, no coverage or clinical data."""

    patient_id: str
    first_name: str
    last_name: str
    phone: str | None = None
    email: str | None = None
    address: Address | None = None
