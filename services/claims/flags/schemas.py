"""Claim flags as the API shows them, and how staff resolve one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

FlagKind = Literal["member_id_corrected", "retroactive_termination"]
FlagStatus = Literal["open", "resolved", "dismissed"]


class FlagOut(BaseModel):
    """A coverage change that affects an open claim, and the action suggested."""

    id: uuid.UUID
    claim_id: uuid.UUID
    patient_id: str
    payer_id: str = Field(description="The payer the claim was billed to.")
    kind: FlagKind = Field(
        description="member_id_corrected: the registry corrected the member id the claim was billed "
        "with; retroactive_termination: the payer's coverage ended before the claim's date of service."
    )
    coverage_id: uuid.UUID = Field(description="The registry coverage that changed.")
    revision: int = Field(description="The registry revision (coverage.updated) that raised the flag.")
    suggested_action: str
    suggested_payer_id: str | None = Field(
        default=None, description="retroactive_termination: the payer in force on the date of service now."
    )
    status: FlagStatus
    note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    created_at: datetime


class FlagResolution(BaseModel):
    """How a flag ends: `resolved` (the work is done), `dismissed` (nothing to do), or
    `corrected` (member_id_corrected only: send the corrected claim, frequency 7 with the new
    member id, which resolves the flag — the same command as POST /v1/claims/{id}/corrections)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["resolved", "dismissed", "corrected"]
    note: str = Field(min_length=1, max_length=500, description="What was done, or why nothing is.")


@dataclass(frozen=True)
class FlagFilters:
    """The work list's filters (query parameters); each applies only when given."""

    status: Annotated[FlagStatus | None, Query(description="open: the work list.")] = None
    kind: Annotated[FlagKind | None, Query()] = None
    payer_id: Annotated[str | None, Query(max_length=64)] = None
