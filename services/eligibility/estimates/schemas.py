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
    """A professional line (CPT/HCPCS `code`), or an outpatient facility line (`revenue_code`,
    with the HCPCS in `code` when the revenue code needs one), priced from the payer's
    outpatient rates."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, pattern=r"^[A-Z0-9]{5}$", description="CPT/HCPCS code.")
    revenue_code: str | None = Field(
        default=None, pattern=r"^[0-9]{4}$", description="UB-04 revenue code (NUBC), e.g. 0450."
    )
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

    @model_validator(mode="after")
    def _code_or_revenue_code(self) -> EstimateLine:
        if self.code is None and self.revenue_code is None:
            raise PydanticCustomError(
                "code_or_revenue_code", "A line names its CPT/HCPCS code, or its revenue code."
            )
        return self


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
    service_type_code: ServiceType = Field(
        default="30",
        description="The visit's service type (EB03). Unsaid on an outpatient facility visit "
        "(lines with revenue codes): 86 when a line is an ER revenue code (045X), else 50.",
    )
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
