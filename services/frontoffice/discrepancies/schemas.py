"""Request and response models of the discrepancies staff work."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from shared.events.frontoffice import DiscrepancyField

DiscrepancyIdPath = Annotated[uuid.UUID, Path(description="The discrepancy's id.")]
FieldName = Literal["first_name", "last_name", "birth_date", "sex", "address", "member_id", "other_payer"]


class Status(StrEnum):
    open = "open"
    accepted = "accepted"
    rejected = "rejected"


class FieldOutcome(StrEnum):
    """What accepting did with one field."""

    applied = "applied"  # the registry still held what the check saw: the payer's value is on file now
    already_applied = "already_applied"  # the registry holds the payer's value already
    superseded = "superseded"  # changed since the check to something else: the newer value stays
    not_applicable = "not_applicable"  # nothing to apply automatically (other payer; unreadable value)
    not_chosen = "not_chosen"  # the accept named other fields


class DiscrepancyOut(BaseModel):
    """A 271 disagreement and, once decided, how."""

    id: uuid.UUID
    check_id: uuid.UUID
    patient_id: str
    payer_id: str
    registry_revision: int = Field(description="The patient's revision the check compared against.")
    fields: list[DiscrepancyField]
    status: Status
    found_at: datetime
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    outcome: dict[str, FieldOutcome] | None = Field(default=None, description="Per field, after accepting.")
    applied_revision: int | None = Field(default=None, description="The patient's revision the accept made.")


class DiscrepancyAccept(BaseModel):
    """Accept the payer's values: all fields, or only those named."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"fields": ["birth_date"], "note": "Matches the ID card"}]},
    )

    fields: list[FieldName] | None = Field(default=None, max_length=7, description="Default: every field.")
    note: str | None = Field(default=None, max_length=500)


class DiscrepancyReject(BaseModel):
    """Reject: the registry is right. Say why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "Payer has an old address; patient confirmed"}]},
    )

    note: str = Field(min_length=1, max_length=500)
