"""The API's models of an estimate request."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.events.catalogue import Id
from shared.money import PositiveMoney

ServiceType = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$", description="X12 service type code (EB03).")]


class EstimateLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9]{5}$", description="CPT/HCPCS code.")
    modifiers: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]] = Field(
        default_factory=list, max_length=4
    )
    units: int = Field(default=1, ge=1, le=999)
    charge: PositiveMoney
    service_type_code: ServiceType | None = Field(
        default=None,
        description="The service type whose benefits apply to this line (e.g. 30 for a lab panel "
        "billed with an office visit, 98); default: the visit's service_type_code.",
    )


class EstimateIn(BaseModel):
    """An insured estimate names a completed check (its benefits); a self-pay estimate names
    the patient and uses the practice's self-pay fee schedule."""

    model_config = ConfigDict(extra="forbid")

    check_id: uuid.UUID | None = Field(
        default=None, description="A completed coverage check whose benefits to use."
    )
    self_pay: bool = Field(default=False, description="Price the visit from the self-pay fee schedule.")
    patient_id: Id | None = Field(default=None, description="The patient (self-pay estimates).")
    date_of_service: date | None = Field(
        default=None, description="Self-pay estimates: the day whose prices apply (default today)."
    )
    service_type_code: ServiceType = "30"
    in_network: bool = True
    lines: list[EstimateLine] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _insured_or_self_pay(self) -> EstimateIn:
        if self.self_pay == (self.check_id is not None):
            raise PydanticCustomError(
                "check_or_self_pay", "Give check_id for an insured patient, or self_pay: true; not both."
            )
        if self.self_pay and not self.patient_id:
            raise PydanticCustomError("patient_required", "A self-pay estimate names its patient_id.")
        return self
