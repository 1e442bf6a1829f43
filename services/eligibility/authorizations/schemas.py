"""The API's models of referrals and prior authorizations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.catalogue import Id


class AuthorizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: Id
    payer_id: Id
    number: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9\-]+$")
    kind: Literal["prior_authorization", "referral"] = "prior_authorization"
    service_codes: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")]] = Field(
        default_factory=list, max_length=50, description="CPT/HCPCS codes it covers."
    )
    service_type_codes: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$")]] = Field(
        default_factory=list,
        max_length=30,
        description="X12 service types it covers (271 EB03, e.g. PT, 62), besides service_codes; "
        "with neither, it covers any service.",
    )
    start_date: date
    end_date: date
    visits_allowed: int | None = Field(default=None, ge=0)
    visits_used: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _dates(self) -> AuthorizationIn:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.visits_allowed is not None and self.visits_used > self.visits_allowed:
            raise ValueError("visits_used exceeds visits_allowed")
        return self


class AuthorizationOut(BaseModel):
    id: uuid.UUID
    patient_id: str
    payer_id: str
    number: str
    kind: str
    service_codes: list[str]
    service_type_codes: list[str]
    start_date: date
    end_date: date
    visits_allowed: int | None
    visits_used: int = Field(description="Visits recorded by hand plus those claims billed against it.")
    visits_left: int | None
    created_at: datetime


class VisitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visits: int = Field(default=1, ge=1, le=100)
