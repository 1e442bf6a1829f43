"""Request and response models of a patient's coverages."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from services.frontoffice.patients.schemas import ChangeReason
from shared.events.frontoffice import CoverageChange, CoverageOrder, Demographics, RegisteredCoverage
from shared.events.payloads import Id

CoverageIdPath = Annotated[uuid.UUID, Path(description="The coverage's id (from the coverage list).")]
MemberId = Annotated[str, Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9\-]+$")]
RelationshipCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9A-Z]{2}$",
        description="Patient to subscriber (X12 1069): 18 self, 01 spouse, 19 child.",
    ),
]


class CoverageIn(BaseModel):
    """A coverage to add, in its coordination-of-benefits order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order": "primary",
                    "payer_id": "AETNA",
                    "plan": "Choice POS II",
                    "member_id": "W123456789",
                    "group_number": "GRP-100",
                    "effective_date": "2026-01-01",
                    "reason": "registration",
                }
            ]
        },
    )

    order: CoverageOrder
    payer_id: Id
    plan: str | None = Field(default=None, max_length=60)
    member_id: MemberId
    group_number: str | None = Field(default=None, max_length=50)
    relationship_code: RelationshipCode = "18"
    subscriber: Demographics | None = Field(
        default=None, description="When the patient is not the subscriber."
    )
    effective_date: date
    termination_date: date | None = None
    reason: ChangeReason = ChangeReason.registration
    note: str | None = Field(default=None, max_length=500)


class CoveragePatch(BaseModel):
    """What changes on a coverage (only the fields sent), and why. A termination date ends it
    (before today: a retroactive termination, claims billed to this payer since may need the
    next one); `null` reinstates it. The payer cannot change: add a new coverage instead."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"member_id": "W987654321", "reason": "correction", "note": "Card re-scanned"},
                {"termination_date": "2026-10-31", "reason": "other", "note": "Employer changed plans"},
            ]
        },
    )

    member_id: MemberId | None = None
    plan: str | None = Field(default=None, max_length=60)
    group_number: str | None = Field(default=None, max_length=50)
    relationship_code: RelationshipCode | None = None
    subscriber: Demographics | None = None
    effective_date: date | None = None
    termination_date: date | None = None
    reason: ChangeReason
    note: str | None = Field(default=None, max_length=500)


class OrderAssignment(BaseModel):
    """One coverage's new place."""

    coverage_id: uuid.UUID
    order: CoverageOrder


class CoverageReorder(BaseModel):
    """New orders for some coverages (e.g. swap primary and secondary), applied together."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "assignments": [
                        {"coverage_id": "5b1f0c1e-8a39-4c36-9a4f-2f1e8f3b6a10", "order": "primary"},
                        {"coverage_id": "0d7b9e52-1c7e-4a43-8d1b-6c0f3c2b9e21", "order": "secondary"},
                    ],
                    "reason": "correction",
                }
            ]
        },
    )

    assignments: list[OrderAssignment] = Field(min_length=1, max_length=10)
    reason: ChangeReason
    note: str | None = Field(default=None, max_length=500)


class CoverageList(BaseModel):
    """The patient's coverages on file, in order (in force or not: each has its dates)."""

    patient_id: str
    revision: int = Field(description="The patient's revision (the ETag for If-Match).")
    coverages: list[RegisteredCoverage]


class CoverageChangeOut(CoverageList):
    """The list after a change, and what the change was (as coverage.updated says it)."""

    changes: list[CoverageChange]
